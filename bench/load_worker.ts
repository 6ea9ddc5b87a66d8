/**
 * A load worker (a Deno Worker): owns whole pairs, both sides, and speaks only the public
 * protocol to the server under test: `POST /v1/user/token`, the chat socket
 * `/v1/chat/<peer>?token=`, `{"msg","id"}` frames, 30010 acks, 30001 deliveries and 30098
 * presence. Since both sides of a pair live here, a message's send time is looked up by its
 * sequence number when the peer receives it, and order, loss and duplicates are checked per pair.
 */
import { encodeMessageFrame } from "../lib/protocol/client_frame.ts";
import {
  type ChatMessageView,
  decodeServerFrame,
  type StoredAnswer,
} from "../lib/protocol/server_frame.ts";
import { CHAT_STATUS } from "../lib/protocol/status.ts";
import { type BenchSocket, type ClientKind, openBenchSocket } from "./bench_socket.ts";
import {
  type AssignCommand,
  type AwaitDeliveryCommand,
  type ClientSpec,
  type CloseCommand,
  type DeliveryReply,
  type DoneReply,
  now,
  type OpenCommand,
  type OpenReply,
  type SendCommand,
  type Sides,
  type Verification,
  type WorkerCommand,
  type WorkerReply,
} from "./worker_protocol.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<WorkerCommand>) => void) | null;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
};

/** How many error texts a reply carries; the rest are only counted. */
const MAX_ERROR_TEXTS = 20;

/**
 * A message frame as `encodeMessageFrame` writes it for this run's tag, cut around the text and
 * the sequence number, so that the sender's hot loop only joins strings (`JSON.stringify` per
 * frame costs the generator about 0.2 µs more). The pieces the loop adds, digits, `|` and `x`,
 * are what JSON writes as they are.
 */
interface MessageFrameParts {
  readonly beforeText: string;
  readonly beforeSeq: string;
  readonly afterSeq: string;
}

// Private-use characters: JSON writes them as they are, and no tag contains them.
const TEXT_MARK = "\uE000";
const SEQ_MARK = "\uE001";

function messageFrameParts(tag: string): MessageFrameParts {
  const [beforeText, rest] = encodeMessageFrame(TEXT_MARK, tag + SEQ_MARK).split(TEXT_MARK);
  const [beforeSeq, afterSeq] = rest.split(SEQ_MARK);
  return { beforeText, beforeSeq, afterSeq };
}

/** A growable list of float samples. */
class Samples {
  #data = new Float64Array(1024);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = value;
  }

  /** The samples so far, as a fresh array that can be transferred; empties the list. */
  take(): Float64Array {
    const out = this.#data.slice(0, this.#length);
    this.#length = 0;
    return out;
  }
}

/** One side of a pair: a user's socket to the peer, with its send and receive bookkeeping. */
class Client {
  readonly spec: ClientSpec;
  /** The other side of the pair. */
  other!: Client;
  token: string;
  ws: BenchSocket | null = null;
  opened = false;
  presence = false;
  closing = false;
  closedPromise: Promise<void> | null = null;
  // Sending: send times by sequence number (performance.now()), acks by sequence number.
  sendTimes = new Float64Array(0);
  acked = new Uint8Array(0);
  next = 0;
  limit = 0;
  inFlight = 0;
  ackCount = 0;
  /** Set once this client's messages to `other` no longer count as expected (a socket died). */
  writtenOff = false;
  /** Set once this client's missing acks no longer count as expected. */
  acksWrittenOff = false;
  // Receiving from `other`: which sequence numbers arrived, and in what order.
  seen = new Uint8Array(0);
  expectedNext = 0;
  received = 0;
  lastMessageId = 0;

  constructor(spec: ClientSpec) {
    this.spec = spec;
    this.token = spec.token;
  }
}

/** The worker's state: its pairs and the running totals a waiting command compares against. */
class LoadWorker {
  #clients: Client[] = [];
  #httpBase = "";
  #wsBase = "";
  #tag = "";
  #clientKind: ClientKind = "raw";
  #pad = "";
  #frameParts = messageFrameParts("");
  #window = 0;
  #verification = emptyVerification();
  #latency = new Samples();
  // Totals across the worker's clients, and the targets of the command being waited on.
  #expectedAcks = 0;
  #expectedReceipts = 0;
  #lastAckAt = 0;
  #firstReceiptAt = 0;
  #lastReceiptAt = 0;
  #waiter: (() => void) | null = null;
  #waitDone: (() => boolean) | null = null;

  handle(command: WorkerCommand): Promise<WorkerReply> {
    switch (command.type) {
      case "assign":
        return Promise.resolve(this.#assign(command));
      case "open":
        return this.#open(command);
      case "send":
        return this.#send(command);
      case "await_delivery":
        return this.#awaitDelivery(command);
      case "close":
        return this.#close(command);
    }
  }

  #assign(command: AssignCommand): DoneReply {
    this.#httpBase = command.httpBase;
    this.#wsBase = command.wsBase;
    this.#tag = command.tag;
    this.#frameParts = messageFrameParts(command.tag);
    this.#clientKind = command.client;
    this.#clients = [];
    for (const pair of command.pairs) {
      const a = new Client(pair.a);
      const b = new Client(pair.b);
      a.other = b;
      b.other = a;
      this.#clients.push(a, b);
    }
    this.#verification = emptyVerification();
    this.#expectedAcks = 0;
    this.#expectedReceipts = 0;
    return { type: "done", verification: this.#verification };
  }

  #select(sides: Sides): Client[] {
    if (sides === "both") return this.#clients;
    const offset = sides === "a" ? 0 : 1;
    return this.#clients.filter((_, index) => index % 2 === offset);
  }

  async #open(command: OpenCommand): Promise<OpenReply> {
    const clients = this.#select(command.sides);
    const startedAt = now();
    const connectMs = new Samples();
    const loginMs = new Samples();
    let loggedInAt = startedAt;
    let openedAt = startedAt;
    let readyAt = startedAt;
    let ready = 0;
    const isReady = (client: Client) => client.opened && (!command.waitPresence || client.presence);
    const allReady = Promise.withResolvers<void>();
    const markIfReady = (client: Client, counted: Set<Client>) => {
      if (counted.has(client) || !isReady(client)) return;
      counted.add(client);
      ready++;
      readyAt = now();
      if (ready === clients.length) allReady.resolve();
    };
    const counted = new Set<Client>();
    if (clients.length === 0) allReady.resolve();

    const connectOne = async (client: Client) => {
      if (client.spec.password !== undefined) {
        const started = performance.now();
        client.token = await this.#login(client.spec);
        loginMs.push(performance.now() - started);
        loggedInAt = now();
      }
      const started = performance.now();
      await this.#connect(client, () => markIfReady(client, counted));
      connectMs.push(performance.now() - started);
      openedAt = now();
      markIfReady(client, counted);
    };

    // A bounded pool of connection attempts, so a big scenario does not overflow the listen
    // backlog and measure SYN retries instead of the server.
    let nextIndex = 0;
    const runner = async () => {
      while (nextIndex < clients.length) {
        const client = clients[nextIndex++];
        try {
          await connectOne(client);
        } catch (error) {
          this.#error(`${client.spec.user}->${client.spec.peer}: ${message(error)}`);
        }
      }
    };
    const runners = Array.from(
      { length: Math.min(command.concurrency, clients.length) },
      runner,
    );
    const timedOut = await withDeadline(
      Promise.all([Promise.all(runners), allReady.promise]).then(() => {}),
      command.timeoutMs,
    );
    if (timedOut) {
      this.#error(
        `open timed out after ${command.timeoutMs} ms: ${ready} of ${clients.length} ready`,
      );
    }
    const connect = connectMs.take();
    const login = loginMs.take();
    return {
      type: "opened",
      startedAt,
      loggedInAt,
      openedAt,
      readyAt,
      connections: clients.filter((client) => client.opened).length,
      connectMs: connect,
      loginMs: login,
      verification: this.#verification,
    };
  }

  async #login(spec: ClientSpec): Promise<string> {
    const response = await fetch(`${this.#httpBase}/v1/user/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: spec.user, password: spec.password }),
    });
    const json = await response.json();
    if (response.status !== 201 || typeof json?.body?.token !== "string") {
      throw new Error(`login failed: HTTP ${response.status} ${JSON.stringify(json)}`);
    }
    return json.body.token;
  }

  #connect(client: Client, onPresence: () => void): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const closed = Promise.withResolvers<void>();
    const url = `${this.#wsBase}/v1/chat/${encodeURIComponent(client.spec.peer)}?token=${
      encodeURIComponent(client.token)
    }`;
    client.closedPromise = closed.promise;
    client.ws = openBenchSocket(this.#clientKind, url, {
      onopen: () => {
        client.opened = true;
        resolve();
      },
      onmessage: (text) => this.#frame(client, text, onPresence),
      onclose: (code, reason) => {
        closed.resolve();
        if (!client.opened) reject(new Error(`socket closed before open: ${code} ${reason}`));
        else if (!client.closing) {
          this.#error(
            `${client.spec.user}->${client.spec.peer}: closed by server ${code} ${reason}`,
          );
          this.#writeOff(client);
        }
        client.opened = false;
      },
    });
    return promise;
  }

  #frame(client: Client, text: string, onPresence: () => void): void {
    const frame = decodeServerFrame(text);
    switch (frame?.status) {
      case CHAT_STATUS.MESSAGE:
        this.#receive(client, frame.message);
        return;
      case CHAT_STATUS.STORED:
        this.#ack(client, frame.stored);
        return;
      case CHAT_STATUS.PEER_LOGIN:
        client.presence = true;
        onPresence();
        return;
      case CHAT_STATUS.PEER_LOGOUT:
        // Only while closing, when the peer may close first.
        client.presence = false;
        if (!client.closing) this.#error(`${client.spec.user}: unexpected 30099 ${frame.msg}`);
        return;
      default:
        this.#error(`${client.spec.user}: unexpected frame ${text.slice(0, 120)}`);
    }
  }

  #receive(client: Client, message: ChatMessageView): void {
    const v = this.#verification;
    const at = performance.now();
    const sender = client.other;
    const seq = parseInt(message.msg, 10);
    const { messageId } = message;
    if (message.fromUser !== sender.spec.user || !(seq >= 0 && seq < client.seen.length)) {
      this.#error(
        `${client.spec.user}: unexpected message ${JSON.stringify(message).slice(0, 120)}`,
      );
      return;
    }
    if (messageId <= client.lastMessageId) v.idRegressions++;
    client.lastMessageId = messageId;
    if (client.seen[seq] === 1) {
      v.duplicated++;
      return;
    }
    client.seen[seq] = 1;
    if (seq !== client.expectedNext) v.outOfOrder++;
    if (seq >= client.expectedNext) client.expectedNext = seq + 1;
    client.received++;
    v.delivered++;
    this.#latency.push(at - sender.sendTimes[seq]);
    const absolute = performance.timeOrigin + at;
    if (this.#firstReceiptAt === 0) this.#firstReceiptAt = absolute;
    this.#lastReceiptAt = absolute;
    this.#wake();
  }

  #ack(client: Client, stored: StoredAnswer): void {
    const v = this.#verification;
    const { id } = stored;
    const seq = id.startsWith(this.#tag) ? Number(id.slice(this.#tag.length)) : NaN;
    if (!(seq >= 0 && seq < client.next) || client.acked[seq] === 1) {
      v.badAcks++;
      return;
    }
    client.acked[seq] = 1;
    client.ackCount++;
    client.inFlight--;
    v.acked++;
    this.#lastAckAt = now();
    this.#pump(client);
    this.#wake();
  }

  #pump(client: Client): void {
    const ws = client.ws;
    if (ws === null || !ws.isOpen) return;
    const { beforeText, beforeSeq, afterSeq } = this.#frameParts;
    while (client.inFlight < this.#window && client.next < client.limit) {
      const seq = client.next++;
      const text = `${seq}|${this.#pad}`.slice(0, Math.max(this.#pad.length, String(seq).length));
      client.sendTimes[seq] = performance.now();
      ws.send(beforeText + text + beforeSeq + seq + afterSeq);
      client.inFlight++;
    }
  }

  async #send(command: SendCommand): Promise<DeliveryReply> {
    const senders = this.#select(command.senders);
    this.#window = command.window;
    this.#pad = "x".repeat(command.msgChars);
    this.#latency.take();
    this.#firstReceiptAt = 0;
    this.#lastReceiptAt = 0;
    this.#lastAckAt = 0;
    for (const sender of senders) {
      sender.sendTimes = new Float64Array(command.messages);
      sender.acked = new Uint8Array(command.messages);
      sender.next = 0;
      sender.limit = command.messages;
      sender.inFlight = 0;
      sender.ackCount = 0;
      sender.writtenOff = false;
      sender.acksWrittenOff = false;
      const receiver = sender.other;
      receiver.seen = new Uint8Array(command.messages);
      receiver.expectedNext = 0;
      receiver.received = 0;
      receiver.lastMessageId = 0;
    }
    const v = this.#verification;
    this.#expectedAcks = v.acked + senders.length * command.messages;
    this.#expectedReceipts = v.delivered + senders.length * command.messages;
    v.expected += senders.length * command.messages;
    const startedAt = now();
    for (const sender of senders) {
      // A socket already lost cannot take part (the loss was reported when it closed).
      if (!sender.opened || (command.awaitDelivery && !sender.other.opened)) this.#writeOff(sender);
      else this.#pump(sender);
    }
    const timedOut = await this.#waitUntil(
      () =>
        v.acked >= this.#expectedAcks &&
        (!command.awaitDelivery || v.delivered >= this.#expectedReceipts),
      command.timeoutMs,
    );
    if (timedOut) {
      this.#error(
        `send timed out after ${command.timeoutMs} ms: acked ${v.acked} of ${this.#expectedAcks}, ` +
          `delivered ${v.delivered} of ${this.#expectedReceipts}; ${this.#incomplete(senders)}`,
        true,
      );
    }
    return this.#deliveryReply(startedAt, timedOut);
  }

  async #awaitDelivery(command: AwaitDeliveryCommand): Promise<DeliveryReply> {
    const v = this.#verification;
    const startedAt = now();
    const timedOut = await this.#waitUntil(
      () => v.delivered >= this.#expectedReceipts,
      command.timeoutMs,
    );
    if (timedOut) {
      this.#error(
        `delivery timed out after ${command.timeoutMs} ms: delivered ${v.delivered} of ` +
          `${this.#expectedReceipts}`,
        true,
      );
    }
    return this.#deliveryReply(startedAt, timedOut);
  }

  #deliveryReply(startedAt: number, timedOut: boolean): DeliveryReply {
    return {
      type: "delivered",
      startedAt,
      lastAckAt: this.#lastAckAt,
      firstReceiptAt: this.#firstReceiptAt,
      lastReceiptAt: this.#lastReceiptAt,
      timedOut,
      latencyMs: this.#latency.take(),
      verification: this.#verification,
    };
  }

  async #close(command: CloseCommand): Promise<DoneReply> {
    const waits: Promise<void>[] = [];
    for (const client of this.#clients) {
      client.closing = true;
      if (client.ws !== null && client.closedPromise !== null) {
        client.ws.close(1000, "done");
        waits.push(client.closedPromise);
      }
    }
    if (await withDeadline(Promise.all(waits).then(() => {}), command.timeoutMs)) {
      this.#error(`close timed out after ${command.timeoutMs} ms`);
    }
    for (const client of this.#clients) client.ws = null;
    return { type: "done", verification: this.#verification };
  }

  /**
   * A socket the server closed will neither get its acks nor deliver or receive the rest of
   * its pair's messages: stop waiting for them (they are reported as lost) instead of waiting
   * for the time-out.
   */
  #writeOff(client: Client): void {
    if (!client.acksWrittenOff) {
      client.acksWrittenOff = true;
      this.#expectedAcks -= client.limit - client.ackCount;
    }
    for (const sender of [client, client.other]) {
      if (sender.writtenOff) continue;
      sender.writtenOff = true;
      this.#expectedReceipts -= sender.limit - sender.other.received;
    }
    this.#wake();
  }

  #waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(false);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waitDone = done;
    this.#waiter = resolve;
    return withDeadline(promise, timeoutMs).finally(() => {
      this.#waiter = null;
      this.#waitDone = null;
    });
  }

  #wake(): void {
    if (this.#waiter !== null && this.#waitDone !== null && this.#waitDone()) this.#waiter();
  }

  /** Describes the first clients still short of acks or deliveries, for a time-out report. */
  #incomplete(senders: readonly Client[]): string {
    const short = senders.filter((c) =>
      (!c.acksWrittenOff && c.ackCount < c.limit) ||
      (!c.writtenOff && c.other.received < c.limit)
    );
    const described = short.slice(0, 5).map((c) =>
      `${c.spec.user}->${c.spec.peer} sent ${c.next}/${c.limit} acked ${c.ackCount}, peer got ` +
      `${c.other.received}, open ${c.opened}/${c.other.opened}`
    );
    return `${short.length} clients incomplete: ${described.join("; ")}`;
  }

  /** Records an error; `first` puts it ahead of the others (time-outs explain the rest). */
  #error(text: string, first = false): void {
    const v = this.#verification;
    v.errorCount++;
    if (first) v.errors.unshift(text);
    else if (v.errors.length < MAX_ERROR_TEXTS) v.errors.push(text);
  }
}

function emptyVerification(): Verification {
  return {
    expected: 0,
    delivered: 0,
    duplicated: 0,
    outOfOrder: 0,
    idRegressions: 0,
    acked: 0,
    badAcks: 0,
    errors: [],
    errorCount: 0,
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves `true` when `promise` has not settled within `ms`, `false` when it has. */
function withDeadline(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), ms);
  });
  return Promise.race([promise.then(() => false), deadline]).finally(() => clearTimeout(timer));
}

const worker = new LoadWorker();
scope.onmessage = async (event) => {
  const reply = await worker.handle(event.data);
  const transfer: Transferable[] = [];
  if (reply.type === "opened") {
    transfer.push(reply.connectMs.buffer as ArrayBuffer, reply.loginMs.buffer as ArrayBuffer);
  }
  if (reply.type === "delivered") transfer.push(reply.latencyMs.buffer as ArrayBuffer);
  scope.postMessage(reply, transfer);
};
