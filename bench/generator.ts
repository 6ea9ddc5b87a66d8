/**
 * The load generator: a few Deno Workers (`load_worker.ts`), each owning whole pairs. The
 * coordinator hands out pairs, sends every worker the same command at once and merges the
 * replies, so one phase (open, send, close) ends when the slowest worker ends.
 */
import type { ClientKind } from "./bench_socket.ts";
import type {
  DeliveryReply,
  DoneReply,
  OpenReply,
  PairSpec,
  Verification,
  WorkerCommand,
  WorkerReply,
} from "./worker_protocol.ts";
import { emptyVerification } from "./worker_protocol.ts";

/** `open` merged across workers. */
export interface OpenResult {
  readonly startedAt: number;
  readonly loggedInAt: number;
  readonly openedAt: number;
  readonly readyAt: number;
  readonly connections: number;
  readonly connectMs: Float64Array;
  readonly loginMs: Float64Array;
}

/** `send` / `await_delivery` merged across workers. */
export interface DeliveryResult {
  readonly startedAt: number;
  readonly lastAckAt: number;
  readonly firstReceiptAt: number;
  readonly lastReceiptAt: number;
  readonly timedOut: boolean;
  readonly latencyMs: Float64Array;
}

/** A pool of load workers. */
export class LoadGenerator {
  readonly #workers: Worker[];
  readonly #client: ClientKind;
  #verifications: Verification[];

  constructor(workers: number, client: ClientKind) {
    this.#client = client;
    this.#workers = Array.from(
      { length: workers },
      () => new Worker(new URL("./load_worker.ts", import.meta.url), { type: "module" }),
    );
    this.#verifications = [];
  }

  /** How many workers there are. */
  get size(): number {
    return this.#workers.length;
  }

  /** Gives every worker its share of `pairs` (round robin), replacing what it had. */
  async assign(
    pairs: readonly PairSpec[],
    target: { httpBase: string; wsBase: string },
    tag: string,
  ): Promise<void> {
    const shares = this.#workers.map(() => [] as PairSpec[]);
    pairs.forEach((pair, index) => shares[index % shares.length].push(pair));
    await this.#each((index) => ({
      type: "assign",
      pairs: shares[index],
      httpBase: target.httpBase,
      wsBase: target.wsBase,
      tag,
      client: this.#client,
    }));
  }

  /** Opens sockets in every worker at once (see `OpenCommand`). */
  async open(command: Omit<Extract<WorkerCommand, { type: "open" }>, "type">): Promise<OpenResult> {
    const replies = await this.#each(() => ({ type: "open", ...command })) as OpenReply[];
    return {
      startedAt: Math.min(...replies.map((r) => r.startedAt)),
      loggedInAt: Math.max(...replies.map((r) => r.loggedInAt)),
      openedAt: Math.max(...replies.map((r) => r.openedAt)),
      readyAt: Math.max(...replies.map((r) => r.readyAt)),
      connections: replies.reduce((sum, r) => sum + r.connections, 0),
      connectMs: concat(replies.map((r) => r.connectMs)),
      loginMs: concat(replies.map((r) => r.loginMs)),
    };
  }

  /** Sends from every worker at once (see `SendCommand`). */
  async send(
    command: Omit<Extract<WorkerCommand, { type: "send" }>, "type">,
  ): Promise<DeliveryResult> {
    return mergeDelivery(await this.#each(() => ({ type: "send", ...command })) as DeliveryReply[]);
  }

  /** Waits in every worker for deliveries (see `AwaitDeliveryCommand`). */
  async awaitDelivery(
    command: Omit<Extract<WorkerCommand, { type: "await_delivery" }>, "type">,
  ): Promise<DeliveryResult> {
    return mergeDelivery(
      await this.#each(() => ({ type: "await_delivery", ...command })) as DeliveryReply[],
    );
  }

  /** Closes every socket. */
  async close(timeoutMs: number): Promise<void> {
    await this.#each(() => ({ type: "close", timeoutMs })) as DoneReply[];
  }

  /** The workers' checks since the last `assign`, summed. */
  verification(): Verification {
    const total = emptyVerification();
    for (const v of this.#verifications) {
      total.expected += v.expected;
      total.delivered += v.delivered;
      total.duplicated += v.duplicated;
      total.outOfOrder += v.outOfOrder;
      total.idRegressions += v.idRegressions;
      total.acked += v.acked;
      total.badAcks += v.badAcks;
      total.errorCount += v.errorCount;
      total.errors.push(...v.errors);
    }
    total.errors = total.errors.slice(0, 20);
    return total;
  }

  /** Stops the workers. */
  terminate(): void {
    for (const worker of this.#workers) worker.terminate();
  }

  async #each(command: (index: number) => WorkerCommand): Promise<WorkerReply[]> {
    const replies = await Promise.all(
      this.#workers.map((worker, index) => request(worker, command(index))),
    );
    this.#verifications = replies.map((reply) => reply.verification);
    return replies;
  }
}

function request(worker: Worker, command: WorkerCommand): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WorkerReply>) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`load worker failed: ${event.message}`));
    };
    worker.postMessage(command);
  });
}

function mergeDelivery(replies: DeliveryReply[]): DeliveryResult {
  const firsts = replies.map((r) => r.firstReceiptAt).filter((t) => t > 0);
  return {
    startedAt: Math.min(...replies.map((r) => r.startedAt)),
    lastAckAt: Math.max(...replies.map((r) => r.lastAckAt)),
    firstReceiptAt: firsts.length === 0 ? 0 : Math.min(...firsts),
    lastReceiptAt: Math.max(...replies.map((r) => r.lastReceiptAt)),
    timedOut: replies.some((r) => r.timedOut),
    latencyMs: concat(replies.map((r) => r.latencyMs)),
  };
}

function concat(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
