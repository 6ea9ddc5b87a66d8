/**
 * The pieces a load worker (`load_worker.ts`) keeps per client and per run: one side of a pair
 * with its send and receive bookkeeping, a growable list of samples, the message frame cut once
 * per run, and small helpers for deadlines and checks.
 */
import { encodeMessageFrame } from "../lib/protocol/client_frame.ts";
import type { BenchSocket } from "./bench_socket.ts";
import type { ClientSpec, WorkerReply } from "./worker_protocol.ts";

/**
 * A message frame as `encodeMessageFrame` writes it for this run's tag, cut around the text and
 * the sequence number, so that the sender's hot loop only joins strings (`JSON.stringify` per
 * frame costs the generator about 0.2 µs more). The pieces the loop adds, digits, `|` and `x`,
 * are what JSON writes as they are.
 */
export interface MessageFrameParts {
  readonly beforeText: string;
  /** After the text of a frame without `id` (a seed client's). */
  readonly afterText: string;
  readonly beforeSeq: string;
  readonly afterSeq: string;
}

// Private-use characters: JSON writes them as they are, and no tag contains them.
const TEXT_MARK = "\uE000";
const SEQ_MARK = "\uE001";

/** The message frame of `tag`, cut around the text and the sequence number. */
export function messageFrameParts(tag: string): MessageFrameParts {
  const [beforeText, rest] = encodeMessageFrame(TEXT_MARK, tag + SEQ_MARK).split(TEXT_MARK);
  const [beforeSeq, afterSeq] = rest.split(SEQ_MARK);
  const afterText = encodeMessageFrame(TEXT_MARK).split(TEXT_MARK)[1];
  return { beforeText, afterText, beforeSeq, afterSeq };
}

/** A growable list of float samples. */
export class Samples {
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
export class Client {
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

  /** Gets ready to send `messages` to `other` (with ids: acks expected), and `other` to receive. */
  prepareSend(messages: number, withIds: boolean): void {
    this.sendTimes = new Float64Array(messages);
    this.acked = new Uint8Array(messages);
    this.next = 0;
    this.limit = messages;
    this.inFlight = 0;
    this.ackCount = 0;
    this.writtenOff = false;
    // Frames without id get no acks: none is waited for.
    this.acksWrittenOff = !withIds;
    const receiver = this.other;
    receiver.seen = new Uint8Array(messages);
    receiver.expectedNext = 0;
    receiver.received = 0;
    receiver.lastMessageId = 0;
  }
}

/** The text of an error, whatever was thrown. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves `true` when `promise` has not settled within `ms`, `false` when it has. */
export function withDeadline(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), ms);
  });
  return Promise.race([promise.then(() => false), deadline]).finally(() => clearTimeout(timer));
}

/** One condition waited on at a time, looked at again whenever something was counted. */
export class Waiter {
  #resolve: (() => void) | null = null;
  #done: (() => boolean) | null = null;

  /** Resolves `false` once `done()` holds, `true` after `timeoutMs` without. */
  until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(false);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#done = done;
    this.#resolve = resolve;
    return withDeadline(promise, timeoutMs).finally(() => {
      this.#resolve = null;
      this.#done = null;
    });
  }

  /** Something changed: resolves the wait if its condition now holds. */
  wake(): void {
    if (this.#resolve !== null && this.#done !== null && this.#done()) this.#resolve();
  }
}

/** Describes the first clients still short of acks or deliveries, for a time-out report. */
export function describeIncomplete(senders: readonly Client[]): string {
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

/** The sample buffers of a reply, moved rather than copied to the coordinator. */
export function transferables(reply: WorkerReply): Transferable[] {
  if (reply.type === "opened") {
    return [reply.connectMs.buffer as ArrayBuffer, reply.loginMs.buffer as ArrayBuffer];
  }
  return reply.type === "delivered" ? [reply.latencyMs.buffer as ArrayBuffer] : [];
}
