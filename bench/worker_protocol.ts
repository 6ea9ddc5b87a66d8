/**
 * Messages between the benchmark's coordinator (`generator.ts`) and its load workers
 * (`load_worker.ts`). Every command gets exactly one reply; times are epoch milliseconds with
 * sub-millisecond precision (`performance.timeOrigin + performance.now()`), comparable across
 * workers.
 */

import type { ClientKind } from "./bench_socket.ts";

/** One client: a user with a socket on the pair (user -> peer). */
export interface ClientSpec {
  readonly user: string;
  /** The token for `?token=`; for the floor relay the user's own name (it checks nothing). */
  readonly token: string;
  readonly peer: string;
  /** When set, the worker logs in over HTTP with it first and uses the token it gets. */
  readonly password?: string;
  /** The node this side connects to (`ws://host:port`), when not the command's (a cluster). */
  readonly wsBase?: string;
}

/** A pair: both sides, `a` (user -> peer) and `b` (peer -> user). */
export interface PairSpec {
  readonly a: ClientSpec;
  readonly b: ClientSpec;
}

/** Which sides of each pair a command applies to. */
export type Sides = "both" | "a" | "b";

/** Loads the pairs this worker owns; no socket is opened yet. */
export interface AssignCommand {
  readonly type: "assign";
  readonly pairs: readonly PairSpec[];
  readonly httpBase: string;
  readonly wsBase: string;
  /** Prefix of every client `id`, so ids never repeat across runs on one database. */
  readonly tag: string;
  /** The client socket implementation (see `bench_socket.ts`). */
  readonly client: ClientKind;
}

/** Opens the sockets of `sides`, logging in first where a client has a password. */
export interface OpenCommand {
  readonly type: "open";
  readonly sides: Sides;
  /** Wait for 30098 on every opened socket (the service) or only for `open` (the floor). */
  readonly waitPresence: boolean;
  /** Most connection attempts (login + open) in flight at once in this worker. */
  readonly concurrency: number;
  readonly timeoutMs: number;
}

/** Sends `messages` from every client of `senders`, at most `window` in flight each. */
export interface SendCommand {
  readonly type: "send";
  readonly senders: Sides;
  readonly messages: number;
  readonly window: number;
  /**
   * `{"msg","id"}` frames, the window kept by 30010 acks; or, `false`, a seed client's `{"msg"}`
   * frames, the window kept by watching the peer receive them (only with `awaitDelivery`).
   */
  readonly withIds: boolean;
  /** Characters of each message text. */
  readonly msgChars: number;
  /** Also wait until the peer of each sender has received every message. */
  readonly awaitDelivery: boolean;
  readonly timeoutMs: number;
}

/** Waits until the clients of `sides` have received `messages` each from their peer. */
export interface AwaitDeliveryCommand {
  readonly type: "await_delivery";
  readonly sides: Sides;
  readonly messages: number;
  readonly timeoutMs: number;
}

/** Closes every socket and waits (bounded) for the close events. */
export interface CloseCommand {
  readonly type: "close";
  readonly timeoutMs: number;
}

/** A command to a load worker. */
export type WorkerCommand =
  | AssignCommand
  | OpenCommand
  | SendCommand
  | AwaitDeliveryCommand
  | CloseCommand;

/** What a worker found wrong; any non-zero count fails the scenario. */
export interface Verification {
  /** Messages a receiver should have got. */
  expected: number;
  /** Distinct messages received. */
  delivered: number;
  /** The same message (by sequence number) received again on one socket. */
  duplicated: number;
  /** A message received after a later one of the same sender. */
  outOfOrder: number;
  /** A `message_id` not above the previous one on the same socket. */
  idRegressions: number;
  /** 30010 acknowledgements received (distinct). */
  acked: number;
  /** 30010 for an id already acknowledged, or for no id sent. */
  badAcks: number;
  /** Unexpected frames, closes and errors, as text (the first few). */
  errors: string[];
  /** How many errors there were in all. */
  errorCount: number;
}

/** Reply to `open`. */
export interface OpenReply {
  readonly type: "opened";
  readonly startedAt: number;
  /** When the last login answered (equal to `startedAt` without logins). */
  readonly loggedInAt: number;
  /** When the last socket opened. */
  readonly openedAt: number;
  /** When the last awaited 30098 arrived (equal to `openedAt` without presence). */
  readonly readyAt: number;
  readonly connections: number;
  /** Per socket: request to `open`, in ms (transferred). */
  readonly connectMs: Float64Array;
  /** Per login: request to answer, in ms (transferred; empty without logins). */
  readonly loginMs: Float64Array;
  readonly verification: Verification;
}

/** Reply to `send` and `await_delivery`. */
export interface DeliveryReply {
  readonly type: "delivered";
  readonly startedAt: number;
  readonly lastAckAt: number;
  readonly lastReceiptAt: number;
  readonly firstReceiptAt: number;
  readonly timedOut: boolean;
  /** Send -> receipt per delivered message, in ms (transferred). */
  readonly latencyMs: Float64Array;
  readonly verification: Verification;
}

/** Reply to `assign` and `close`. */
export interface DoneReply {
  readonly type: "done";
  readonly verification: Verification;
}

/** A reply from a load worker. */
export type WorkerReply = OpenReply | DeliveryReply | DoneReply;

/** Epoch milliseconds with sub-millisecond precision. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** A verification with nothing counted yet. */
export function emptyVerification(): Verification {
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
