/**
 * A load worker (a Deno Worker): owns whole pairs, both sides, and speaks only the public
 * protocol to the server under test: `POST /v1/user/token`, the chat socket
 * `/v1/chat/<peer>?token=`, `{"msg","id"}` frames, 30010 acks, 30001 deliveries and 30098
 * presence. Since both sides of a pair live here, a message's send time is looked up by its
 * sequence number when the peer receives it, and order, loss and duplicates are checked per pair.
 */
import {
  type ChatMessageView,
  decodeServerFrame,
  type StoredAnswer,
} from "../lib/protocol/server_frame.ts";
import { CHAT_STATUS, RFC_CLOSE_CODE } from "../lib/protocol/status.ts";
import { type ClientKind, openBenchSocket } from "./bench_socket.ts";
import {
  Client,
  describeIncomplete,
  errorText,
  messageFrameParts,
  Samples,
  transferables,
  Waiter,
  withDeadline,
} from "./load_client.ts";
import { OpenProgress } from "./open_progress.ts";
import { loginAs } from "./user_setup.ts";
import type {
  AssignCommand,
  AwaitDeliveryCommand,
  CloseCommand,
  DeliveryReply,
  DoneReply,
  OpenCommand,
  OpenReply,
  SendCommand,
  Sides,
  WorkerCommand,
  WorkerReply,
} from "./worker_protocol.ts";
import { emptyVerification, now } from "./worker_protocol.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<WorkerCommand>) => void) | null;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
};

/** How many error texts a reply carries; the rest are only counted. */
const MAX_ERROR_TEXTS = 20;

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
  // With ids, the window opens on 30010; without (a seed client), on the peer's receipt.
  #withIds = true;
  #verification = emptyVerification();
  #latency = new Samples();
  // Totals across the worker's clients, and the targets of the command being waited on.
  #expectedAcks = 0;
  #expectedReceipts = 0;
  #lastAckAt = 0;
  #firstReceiptAt = 0;
  #lastReceiptAt = 0;
  readonly #waiter = new Waiter();

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
    const progress = new OpenProgress(clients.length, command.waitPresence);
    // A bounded pool of connection attempts, so a big scenario does not overflow the listen
    // backlog and measure SYN retries instead of the server.
    let nextIndex = 0;
    const runner = async () => {
      while (nextIndex < clients.length) {
        const client = clients[nextIndex++];
        try {
          await this.#connectOne(client, progress);
        } catch (error) {
          this.#error(`${client.spec.user}->${client.spec.peer}: ${errorText(error)}`);
        }
      }
    };
    const runners = Array.from({ length: Math.min(command.concurrency, clients.length) }, runner);
    const timedOut = await withDeadline(
      Promise.all([Promise.all(runners), progress.allReady]).then(() => {}),
      command.timeoutMs,
    );
    if (timedOut) {
      this.#error(
        `open timed out after ${command.timeoutMs} ms: ${progress.ready} of ${clients.length} ready`,
      );
    }
    return {
      type: "opened",
      ...progress.times(),
      connections: clients.filter((client) => client.opened).length,
      connectMs: progress.connectMs.take(),
      loginMs: progress.loginMs.take(),
      verification: this.#verification,
    };
  }

  /** Logs `client` in when it has a password, then opens its socket. */
  async #connectOne(client: Client, progress: OpenProgress): Promise<void> {
    if (client.spec.password !== undefined) {
      const started = performance.now();
      client.token = await loginAs(this.#httpBase, client.spec.user, client.spec.password);
      progress.loggedIn(performance.now() - started);
    }
    const started = performance.now();
    await this.#connect(client, () => progress.markIfReady(client));
    progress.opened(performance.now() - started);
    progress.markIfReady(client);
  }

  #connect(client: Client, onPresence: () => void): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const closed = Promise.withResolvers<void>();
    const url = `${client.spec.wsBase ?? this.#wsBase}/v1/chat/${
      encodeURIComponent(client.spec.peer)
    }?token=${encodeURIComponent(client.token)}`;
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
    if (!this.#withIds) {
      // A seed client keeps its window by watching its own messages arrive.
      sender.inFlight--;
      this.#pump(sender);
    }
    this.#latency.push(at - sender.sendTimes[seq]);
    const absolute = performance.timeOrigin + at;
    if (this.#firstReceiptAt === 0) this.#firstReceiptAt = absolute;
    this.#lastReceiptAt = absolute;
    this.#waiter.wake();
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
    this.#waiter.wake();
  }

  #pump(client: Client): void {
    const ws = client.ws;
    if (ws === null || !ws.isOpen) return;
    const { beforeText, afterText, beforeSeq, afterSeq } = this.#frameParts;
    while (client.inFlight < this.#window && client.next < client.limit) {
      const seq = client.next++;
      const text = `${seq}|${this.#pad}`.slice(0, Math.max(this.#pad.length, String(seq).length));
      client.sendTimes[seq] = performance.now();
      ws.send(
        this.#withIds
          ? beforeText + text + beforeSeq + seq + afterSeq
          : beforeText + text + afterText,
      );
      client.inFlight++;
    }
  }

  async #send(command: SendCommand): Promise<DeliveryReply> {
    const senders = this.#select(command.senders);
    this.#window = command.window;
    this.#withIds = command.withIds;
    this.#pad = "x".repeat(command.msgChars);
    this.#latency.take();
    this.#firstReceiptAt = 0;
    this.#lastReceiptAt = 0;
    this.#lastAckAt = 0;
    for (const sender of senders) sender.prepareSend(command.messages, command.withIds);
    const v = this.#verification;
    this.#expectedAcks = v.acked + (command.withIds ? senders.length * command.messages : 0);
    this.#expectedReceipts = v.delivered + senders.length * command.messages;
    v.expected += senders.length * command.messages;
    const startedAt = now();
    for (const sender of senders) {
      // A socket already lost cannot take part (the loss was reported when it closed).
      if (!sender.opened || (command.awaitDelivery && !sender.other.opened)) this.#writeOff(sender);
      else this.#pump(sender);
    }
    const timedOut = await this.#waiter.until(
      () =>
        v.acked >= this.#expectedAcks &&
        (!command.awaitDelivery || v.delivered >= this.#expectedReceipts),
      command.timeoutMs,
    );
    if (timedOut) {
      this.#error(
        `send timed out after ${command.timeoutMs} ms: acked ${v.acked} of ${this.#expectedAcks}, ` +
          `delivered ${v.delivered} of ${this.#expectedReceipts}; ${describeIncomplete(senders)}`,
        true,
      );
    }
    return this.#deliveryReply(startedAt, timedOut);
  }

  async #awaitDelivery(command: AwaitDeliveryCommand): Promise<DeliveryReply> {
    const v = this.#verification;
    const startedAt = now();
    const timedOut = await this.#waiter.until(
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
        client.ws.close(RFC_CLOSE_CODE.NORMAL, "done");
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
    this.#waiter.wake();
  }

  /** Records an error; `first` puts it ahead of the others (time-outs explain the rest). */
  #error(text: string, first = false): void {
    const v = this.#verification;
    v.errorCount++;
    if (first) v.errors.unshift(text);
    else if (v.errors.length < MAX_ERROR_TEXTS) v.errors.push(text);
  }
}

const worker = new LoadWorker();
scope.onmessage = async (event) => {
  const reply = await worker.handle(event.data);
  scope.postMessage(reply, transferables(reply));
};
