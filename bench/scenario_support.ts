/**
 * What every scenario of the benchmark shares: the context it runs with, how pairs of users are
 * planned, a fresh server per measurement with its memory sampled, a quiet machine before a
 * measured phase, and how a run's checks become failure lines.
 */
import type { LoadGenerator } from "./generator.ts";
import type { ServerKind, ServerProcess } from "./server_process.ts";
import { ForeignLoad, waitForQuiet } from "./system.ts";
import type { PairSpec, Verification } from "./worker_protocol.ts";
import { verificationFailures } from "./results.ts";

/** A user of the run: registered over HTTP, with a token from one login. */
export interface BenchUser {
  readonly name: string;
  readonly password: string;
  readonly token: string;
}

/** What a measurement reads of the server under test: one process, or the nodes of a cluster. */
export type MeasuredServer = Pick<
  ServerProcess,
  "pids" | "httpBase" | "wsBase" | "logLines" | "errors" | "cpuMs" | "rssKiB"
>;

/** What a scenario runs with. */
export interface BenchContext {
  readonly generator: LoadGenerator;
  readonly users: readonly BenchUser[];
  /** Unacknowledged messages each client may have in flight. */
  readonly window: number;
  /** Characters of each message text. */
  readonly msgChars: number;
  /** Connection attempts in flight per worker while opening many sockets. */
  readonly connectConcurrency: number;
  /** The servers to measure (both, normally). */
  readonly servers: readonly ServerKind[];
  /** Before a measured phase, wait up to this long for other processes to calm down. */
  readonly quietWaitMs: number;
  /** With `--profile`: a fresh folder for the CPU profile of the process `name`, else undefined. */
  profileDir(name: string): Promise<string | undefined>;
  /** Starts a fresh server of `kind` for `scenario`, on its own core unless `pinned` is false. */
  start(kind: ServerKind, scenario: string, pinned?: boolean): Promise<ServerProcess>;
  log(text: string): void;
}

export const OPEN_TIMEOUT_MS = 180_000;
export const SEND_TIMEOUT_MS = 180_000;
export const CLOSE_TIMEOUT_MS = 60_000;
const RSS_SAMPLE_MS = 50;
/** "Quiet": other processes use less than this much of one core. */
const QUIET_PERCENT = 15;

/**
 * `count` distinct pairs of user indexes out of `userCount` users: disjoint pairs while there
 * are enough users, then rings (i, i+1), (i, i+2), ... so a user may sit in several pairs.
 */
export function planPairs(userCount: number, count: number): [number, number][] {
  if (count * 2 <= userCount) {
    return Array.from({ length: count }, (_, i) => [2 * i, 2 * i + 1]);
  }
  const pairs: [number, number][] = [];
  for (let step = 1; pairs.length < count; step++) {
    if (2 * step >= userCount) {
      throw new RangeError(`Cannot make ${count} distinct pairs of ${userCount} users`);
    }
    for (let i = 0; i < userCount && pairs.length < count; i++) {
      pairs.push([i, (i + step) % userCount]);
    }
  }
  return pairs;
}

/** The generator's pair specs for `kind`: real tokens for the service, names for the floor. */
export function pairSpecs(
  users: readonly BenchUser[],
  plan: readonly [number, number][],
  kind: ServerKind,
  login = false,
): PairSpec[] {
  const side = (me: BenchUser, peer: BenchUser) => ({
    user: me.name,
    token: kind === "floor" ? me.name : me.token,
    peer: peer.name,
    ...(login && kind === "service" ? { password: me.password } : {}),
  });
  return plan.map(([a, b]) => ({ a: side(users[a], users[b]), b: side(users[b], users[a]) }));
}

/** Waits for a quiet machine, then starts counting other processes' CPU. */
export async function quietPhase(
  context: BenchContext,
  server: MeasuredServer,
): Promise<ForeignLoad> {
  const own = [...server.pids, Deno.pid];
  await waitForQuiet(own, QUIET_PERCENT, context.quietWaitMs);
  return new ForeignLoad(own);
}

/** A fresh prefix for client ids, so ids never repeat across runs on one database. */
export function tag(): string {
  return `${Math.random().toString(36).slice(2, 7)}-`;
}

/** Samples a server's RSS every 50 ms and keeps the peak. */
export class RssSampler {
  #peak = 0;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #server: MeasuredServer;

  constructor(server: MeasuredServer) {
    this.#server = server;
    this.sample();
    this.#timer = setInterval(() => this.sample(), RSS_SAMPLE_MS);
  }

  /** Takes a sample now and returns it. */
  sample(): number {
    const rss = this.#server.rssKiB();
    if (rss > this.#peak) this.#peak = rss;
    return rss;
  }

  /** Forgets the peak so far. */
  resetPeak(): void {
    this.#peak = 0;
    this.sample();
  }

  get peak(): number {
    return this.#peak;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Runs `body` against a fresh server of `kind`, always stopping it. */
export async function withServer<T>(
  context: BenchContext,
  kind: ServerKind,
  scenario: string,
  body: (server: ServerProcess, sampler: RssSampler) => Promise<T>,
  pinned = true,
): Promise<T> {
  const server = await context.start(kind, scenario, pinned);
  const sampler = new RssSampler(server);
  try {
    return await body(server, sampler);
  } finally {
    sampler.stop();
    const code = await server.stop();
    if (code !== 0) context.log(`  ${kind} exited with code ${code}`);
    for (const line of server.errors.slice(0, 5)) context.log(`  ${kind} stderr: ${line}`);
  }
}

/** The failure lines of one measurement: its checks, a time-out, the server's error lines. */
export function failuresOf(
  label: string,
  v: Verification,
  timedOut: boolean,
  server: MeasuredServer,
  acks = true,
): string[] {
  const out = verificationFailures(v, label, acks);
  if (timedOut) out.push(`${label}: timed out`);
  if (server.errors.length > 0) {
    out.push(
      `${label}: the server logged ${server.logLines.stderr} error lines, first: ${
        server.errors[0]
      }`,
    );
  }
  return out;
}

/** Adds a failure when fewer sockets opened than the plan has sides. */
export function openedFailures(
  kind: ServerKind,
  opened: number,
  wanted: number,
  what = "sockets opened",
): string[] {
  return opened === wanted ? [] : [`${kind}: ${opened} of ${wanted} ${what}`];
}

/** Measures the floor and the service in turn (those of `context.servers`). */
export async function bothServers<F>(
  context: BenchContext,
  measure: (kind: ServerKind) => Promise<F>,
): Promise<{ floor: F | null; service: F | null }> {
  const floor = context.servers.includes("floor") ? await measure("floor") : null;
  const service = context.servers.includes("service") ? await measure("service") : null;
  return { floor, service };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
