/**
 * The scenarios of the benchmark. Each one runs the same load, through the same generator,
 * against a fresh service (its database copied from the run's user template) and against a
 * fresh floor relay, and measures both.
 */
import type { LoadGenerator } from "./generator.ts";
import type { ServerKind, ServerProcess } from "./server_process.ts";
import { cpuMs, ForeignLoad, waitForQuiet } from "./system.ts";
import { percentiles, round } from "./stats.ts";
import { now, type PairSpec, type Verification } from "./worker_protocol.ts";
import {
  type IdleFigures,
  type LoginFigures,
  type ScenarioResult,
  type ServerUsage,
  type ThroughputFigures,
  verificationFailures,
  type WaitingFigures,
} from "./results.ts";

/** A user of the run: registered over HTTP, with a token from one login. */
export interface BenchUser {
  readonly name: string;
  readonly password: string;
  readonly token: string;
}

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
  /** Starts a fresh server of `kind` for `scenario`. */
  start(kind: ServerKind, scenario: string): Promise<ServerProcess>;
  log(text: string): void;
}

const OPEN_TIMEOUT_MS = 180_000;
const SEND_TIMEOUT_MS = 180_000;
const CLOSE_TIMEOUT_MS = 60_000;
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
function pairSpecs(
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
async function quietPhase(context: BenchContext, server: ServerProcess): Promise<ForeignLoad> {
  const own = [server.pid, Deno.pid];
  await waitForQuiet(own, QUIET_PERCENT, context.quietWaitMs);
  return new ForeignLoad(own);
}

function tag(): string {
  return `${Math.random().toString(36).slice(2, 7)}-`;
}

/** Samples a server's RSS every 50 ms and keeps the peak. */
class RssSampler {
  #peak = 0;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #server: ServerProcess;

  constructor(server: ServerProcess) {
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
async function withServer<T>(
  context: BenchContext,
  kind: ServerKind,
  scenario: string,
  body: (server: ServerProcess, sampler: RssSampler) => Promise<T>,
): Promise<T> {
  const server = await context.start(kind, scenario);
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

function failuresOf(
  label: string,
  v: Verification,
  timedOut: boolean,
  server: ServerProcess,
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

/** P pairs, both sides open, then every client sends M messages with a bounded window. */
export async function pairsScenario(
  context: BenchContext,
  id: string,
  title: string,
  pairs: number,
  messages: number,
): Promise<ScenarioResult<ThroughputFigures>> {
  const plan = planPairs(context.users.length, pairs);
  const failures: string[] = [];
  const measure = (kind: ServerKind) =>
    withServer(context, kind, id, async (server, sampler) => {
      const { generator } = context;
      const rssStartKiB = sampler.sample();
      await generator.assign(pairSpecs(context.users, plan, kind), server, tag());
      const opened = await generator.open({
        sides: "both",
        waitPresence: kind === "service",
        concurrency: context.connectConcurrency,
        timeoutMs: OPEN_TIMEOUT_MS,
      });
      const rssReadyKiB = sampler.sample();
      const foreign = await quietPhase(context, server);
      const linesBefore = server.logLines.stdout + server.logLines.stderr;
      const serverCpu0 = server.cpuMs();
      const generatorCpu0 = cpuMs(Deno.pid) ?? NaN;
      const wall0 = now();
      const sent = await generator.send({
        senders: "both",
        messages,
        window: context.window,
        msgChars: context.msgChars,
        awaitDelivery: true,
        timeoutMs: SEND_TIMEOUT_MS,
      });
      const wall = now() - wall0;
      const otherCpuPercent = round(foreign.percent());
      const serverCpu = server.cpuMs() - serverCpu0;
      const generatorCpu = (cpuMs(Deno.pid) ?? NaN) - generatorCpu0;
      const logLines = server.logLines.stdout + server.logLines.stderr - linesBefore;
      const rssPeakKiB = sampler.peak;
      const verification = generator.verification();
      await generator.close(CLOSE_TIMEOUT_MS);
      const durationMs = sent.lastReceiptAt - sent.startedAt;
      const connectMs = opened.readyAt - opened.startedAt;
      const problems = failuresOf(`${kind}`, verification, sent.timedOut, server);
      if (opened.connections !== plan.length * 2) {
        problems.push(`${kind}: ${opened.connections} of ${plan.length * 2} sockets opened`);
      }
      failures.push(...problems);
      const usage: ServerUsage = {
        rssStartKiB,
        rssReadyKiB,
        rssPeakKiB,
        cpuMs: round(serverCpu),
        cpuPercent: round((serverCpu / wall) * 100),
        logLines,
      };
      const figures: ThroughputFigures = {
        connections: opened.connections,
        connectMs: round(connectMs),
        connectPerSec: round((opened.connections / connectMs) * 1000),
        connectLatencyMs: percentiles(opened.connectMs),
        delivered: verification.delivered,
        durationMs: round(durationMs),
        deliveredPerSec: round((verification.delivered / durationMs) * 1000),
        latencyMs: percentiles(sent.latencyMs),
        cpuUsPerMessage: round((serverCpu * 1000) / Math.max(1, verification.delivered), 2),
        server: usage,
        generatorCpuPercent: round((generatorCpu / wall) * 100),
        otherCpuPercent,
        verification,
        ok: problems.length === 0,
      };
      context.log(
        `  ${kind.padEnd(7)} ${figures.deliveredPerSec} msg/s, p50 ${figures.latencyMs.p50} ms, ` +
          `p99 ${figures.latencyMs.p99} ms, server CPU ${usage.cpuPercent}%, generator CPU ` +
          `${figures.generatorCpuPercent}%, other CPU ${otherCpuPercent}%, ${figures.cpuUsPerMessage} us/msg${
            figures.ok ? "" : "  FAILED"
          }`,
      );
      return figures;
    });
  const floor = context.servers.includes("floor") ? await measure("floor") : null;
  const service = context.servers.includes("service") ? await measure("service") : null;
  return {
    id,
    title,
    params: { pairs, messagesPerClient: messages, window: context.window },
    service,
    floor,
    ok: failures.length === 0,
    failures,
  };
}

/** Many idle, authenticated connections: the server's memory per connection. */
export async function idleScenario(
  context: BenchContext,
  pairs: number,
  holdMs: number,
): Promise<ScenarioResult<IdleFigures>> {
  const id = "idle";
  const plan = planPairs(context.users.length, pairs);
  const failures: string[] = [];
  const measure = (kind: ServerKind) =>
    withServer(context, kind, id, async (server, sampler) => {
      const { generator } = context;
      // Let the fresh process settle so its start-up allocations are in the baseline.
      await delay(1000);
      const foreign = await quietPhase(context, server);
      const rssBeforeKiB = sampler.sample();
      sampler.resetPeak();
      await generator.assign(pairSpecs(context.users, plan, kind), server, tag());
      const opened = await generator.open({
        sides: "both",
        waitPresence: kind === "service",
        concurrency: context.connectConcurrency,
        timeoutMs: OPEN_TIMEOUT_MS,
      });
      await delay(holdMs);
      const rssAfterKiB = sampler.sample();
      const rssPeakKiB = sampler.peak;
      const verification = generator.verification();
      await generator.close(CLOSE_TIMEOUT_MS);
      const problems = failuresOf(kind, verification, false, server, false);
      if (opened.connections !== plan.length * 2) {
        problems.push(`${kind}: ${opened.connections} of ${plan.length * 2} sockets opened`);
      }
      failures.push(...problems);
      const connectMs = opened.readyAt - opened.startedAt;
      const figures: IdleFigures = {
        connections: opened.connections,
        connectMs: round(connectMs),
        connectPerSec: round((opened.connections / connectMs) * 1000),
        connectLatencyMs: percentiles(opened.connectMs),
        rssBeforeKiB,
        rssAfterKiB,
        rssPeakKiB,
        bytesPerConnection: Math.round(
          ((rssAfterKiB - rssBeforeKiB) * 1024) / Math.max(1, opened.connections),
        ),
        holdMs,
        otherCpuPercent: round(foreign.percent()),
        verification,
        ok: problems.length === 0,
      };
      context.log(
        `  ${kind.padEnd(7)} ${figures.connections} connections in ${figures.connectMs} ms ` +
          `(${figures.connectPerSec}/s), RSS ${rssBeforeKiB} -> ${rssAfterKiB} KiB, ` +
          `${figures.bytesPerConnection} B/connection${figures.ok ? "" : "  FAILED"}`,
      );
      return figures;
    });
  const floor = context.servers.includes("floor") ? await measure("floor") : null;
  const service = context.servers.includes("service") ? await measure("service") : null;
  return {
    id,
    title: `${pairs * 2} idle authenticated connections`,
    params: { pairs, connections: pairs * 2, holdMs },
    service,
    floor,
    ok: failures.length === 0,
    failures,
  };
}

/**
 * One user receives a backlog of stored messages on connect (service only). Run at `messages`
 * and again at twice that: if the service streams the backlog in pages, its memory growth does
 * not double with it.
 */
export async function waitingScenario(
  context: BenchContext,
  messages: number,
): Promise<ScenarioResult<WaitingFigures>> {
  const id = "waiting";
  const plan = planPairs(context.users.length, 1);
  const failures: string[] = [];
  if (!context.servers.includes("service")) {
    return { id, title: "", params: { messages }, service: null, floor: null, ok: true, failures };
  }
  const measure = (count: number) =>
    withServer(context, "service", id, async (server, sampler) => {
      const { generator } = context;
      await generator.assign(pairSpecs(context.users, plan, "service"), server, tag());
      const foreign = await quietPhase(context, server);
      // The sender alone: its peer is away, so every message waits.
      await generator.open({
        sides: "a",
        waitPresence: false,
        concurrency: 1,
        timeoutMs: OPEN_TIMEOUT_MS,
      });
      const stored = await generator.send({
        senders: "a",
        messages: count,
        window: context.window,
        msgChars: context.msgChars,
        awaitDelivery: false,
        timeoutMs: SEND_TIMEOUT_MS,
      });
      await delay(500);
      const rssBeforeKiB = sampler.sample();
      sampler.resetPeak();
      const opened = await generator.open({
        sides: "b",
        waitPresence: false,
        concurrency: 1,
        timeoutMs: OPEN_TIMEOUT_MS,
      });
      const delivered = await generator.awaitDelivery({
        sides: "b",
        messages: count,
        timeoutMs: SEND_TIMEOUT_MS,
      });
      await delay(200);
      const rssPeakKiB = Math.max(sampler.peak, sampler.sample());
      const verification = generator.verification();
      await generator.close(CLOSE_TIMEOUT_MS);
      const problems = failuresOf(
        `service (${count})`,
        verification,
        stored.timedOut || delivered.timedOut,
        server,
      );
      failures.push(...problems);
      const storeMs = stored.lastAckAt - stored.startedAt;
      const deliveryMs = delivered.lastReceiptAt - opened.startedAt;
      const figures: WaitingFigures = {
        messages: count,
        storeMs: round(storeMs),
        storedPerSec: round((count / storeMs) * 1000),
        deliveryMs: round(deliveryMs),
        firstMessageMs: round(delivered.firstReceiptAt - opened.startedAt),
        deliveredPerSec: round((verification.delivered / deliveryMs) * 1000),
        rssBeforeKiB,
        rssPeakKiB,
        rssDeltaKiB: rssPeakKiB - rssBeforeKiB,
        otherCpuPercent: round(foreign.percent()),
        verification,
        ok: problems.length === 0,
        doubled: null,
      };
      context.log(
        `  service stored ${count} in ${figures.storeMs} ms; delivered on connect in ` +
          `${figures.deliveryMs} ms (first after ${figures.firstMessageMs} ms), RSS +${figures.rssDeltaKiB} KiB` +
          `${figures.ok ? "" : "  FAILED"}`,
      );
      return figures;
    });
  const single = await measure(messages);
  const doubled = await measure(messages * 2);
  return {
    id,
    title: `${messages} waiting messages delivered on connect`,
    params: { messages },
    service: { ...single, doubled },
    floor: null,
    ok: failures.length === 0,
    failures,
  };
}

/** Many users logging in and connecting at once (the floor only connects: it has no login). */
export async function loginScenario(
  context: BenchContext,
  users: number,
): Promise<ScenarioResult<LoginFigures>> {
  const id = "login";
  const plan = planPairs(Math.min(users, context.users.length), Math.floor(users / 2));
  const failures: string[] = [];
  const measure = (kind: ServerKind) =>
    withServer(context, kind, id, async (server, sampler) => {
      const { generator } = context;
      const foreign = await quietPhase(context, server);
      sampler.resetPeak();
      await generator.assign(pairSpecs(context.users, plan, kind, true), server, tag());
      const opened = await generator.open({
        sides: "both",
        waitPresence: kind === "service",
        concurrency: users,
        timeoutMs: OPEN_TIMEOUT_MS,
      });
      const rssPeakKiB = Math.max(sampler.peak, sampler.sample());
      const verification = generator.verification();
      await generator.close(CLOSE_TIMEOUT_MS);
      const problems = failuresOf(kind, verification, false, server, false);
      if (opened.connections !== plan.length * 2) {
        problems.push(`${kind}: ${opened.connections} of ${plan.length * 2} users connected`);
      }
      failures.push(...problems);
      const loginMs = opened.loginMs.length === 0 ? 0 : opened.loggedInAt - opened.startedAt;
      const figures: LoginFigures = {
        users: plan.length * 2,
        loginMs: round(loginMs),
        loginPerSec: loginMs === 0 ? 0 : round((opened.loginMs.length / loginMs) * 1000),
        loginLatencyMs: percentiles(opened.loginMs),
        readyMs: round(opened.readyAt - opened.startedAt),
        connectLatencyMs: percentiles(opened.connectMs),
        rssPeakKiB,
        otherCpuPercent: round(foreign.percent()),
        verification,
        ok: problems.length === 0,
      };
      context.log(
        `  ${kind.padEnd(7)} ${figures.users} users: logged in after ${figures.loginMs} ms ` +
          `(${figures.loginPerSec}/s), all connected after ${figures.readyMs} ms` +
          `${figures.ok ? "" : "  FAILED"}`,
      );
      return figures;
    });
  const floor = context.servers.includes("floor") ? await measure("floor") : null;
  const service = context.servers.includes("service") ? await measure("service") : null;
  return {
    id,
    title: `${plan.length * 2} users logging in and connecting at once`,
    params: { users: plan.length * 2 },
    service,
    floor,
    ok: failures.length === 0,
    failures,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
