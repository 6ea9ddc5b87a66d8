/**
 * The scenarios of the benchmark besides the pairs (`pairs_scenario.ts`): idle connections,
 * waiting messages delivered on connect, and many users logging in at once. Each one runs the
 * same load against a fresh service (its database copied from the run's user template) and,
 * where it has a counterpart, a fresh floor relay, and measures both.
 */
import type { DeliveryResult } from "./generator.ts";
import type { ServerKind, ServerProcess } from "./server_process.ts";
import { percentiles, round } from "./stats.ts";
import type { IdleFigures, LoginFigures, ScenarioResult, WaitingFigures } from "./results.ts";
import {
  type BenchContext,
  bothServers,
  CLOSE_TIMEOUT_MS,
  delay,
  failuresOf,
  OPEN_TIMEOUT_MS,
  openedFailures,
  pairSpecs,
  planPairs,
  quietPhase,
  type RssSampler,
  SEND_TIMEOUT_MS,
  tag,
  withServer,
} from "./scenario_support.ts";

export { type BenchContext, type BenchUser, planPairs } from "./scenario_support.ts";
export { pairsScenario } from "./pairs_scenario.ts";

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
      const figures = await measureIdle(context, kind, server, sampler, plan, holdMs);
      failures.push(...figures.problems);
      return figures.figures;
    });
  const { floor, service } = await bothServers(context, measure);
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

async function measureIdle(
  context: BenchContext,
  kind: ServerKind,
  server: ServerProcess,
  sampler: RssSampler,
  plan: readonly [number, number][],
  holdMs: number,
): Promise<{ figures: IdleFigures; problems: string[] }> {
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
  const verification = generator.verification();
  await generator.close(CLOSE_TIMEOUT_MS);
  const problems = [
    ...failuresOf(kind, verification, false, server, false),
    ...openedFailures(kind, opened.connections, plan.length * 2),
  ];
  const connectMs = opened.readyAt - opened.startedAt;
  const figures: IdleFigures = {
    connections: opened.connections,
    connectMs: round(connectMs),
    connectPerSec: round((opened.connections / connectMs) * 1000),
    connectLatencyMs: percentiles(opened.connectMs),
    rssBeforeKiB,
    rssAfterKiB,
    rssPeakKiB: sampler.peak,
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
  return { figures, problems };
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
      const figures = await measureWaiting(context, server, sampler, plan, count);
      failures.push(...figures.problems);
      return figures.figures;
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

/** The senders alone send `count` messages: their peers are away, so every message waits. */
async function sendToAbsentPeers(context: BenchContext, count: number): Promise<DeliveryResult> {
  const { generator } = context;
  await generator.open({
    sides: "a",
    waitPresence: false,
    concurrency: 1,
    timeoutMs: OPEN_TIMEOUT_MS,
  });
  return await generator.send({
    senders: "a",
    messages: count,
    window: context.window,
    withIds: true,
    msgChars: context.msgChars,
    awaitDelivery: false,
    timeoutMs: SEND_TIMEOUT_MS,
  });
}

async function measureWaiting(
  context: BenchContext,
  server: ServerProcess,
  sampler: RssSampler,
  plan: readonly [number, number][],
  count: number,
): Promise<{ figures: WaitingFigures; problems: string[] }> {
  const { generator } = context;
  await generator.assign(pairSpecs(context.users, plan, "service"), server, tag());
  const foreign = await quietPhase(context, server);
  const stored = await sendToAbsentPeers(context, count);
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
  const timedOut = stored.timedOut || delivered.timedOut;
  const problems = failuresOf(`service (${count})`, verification, timedOut, server);
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
  return { figures, problems };
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
      const figures = await measureLogin(context, kind, server, sampler, plan);
      failures.push(...figures.problems);
      return figures.figures;
    });
  const { floor, service } = await bothServers(context, measure);
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

async function measureLogin(
  context: BenchContext,
  kind: ServerKind,
  server: ServerProcess,
  sampler: RssSampler,
  plan: readonly [number, number][],
): Promise<{ figures: LoginFigures; problems: string[] }> {
  const { generator } = context;
  const foreign = await quietPhase(context, server);
  sampler.resetPeak();
  await generator.assign(pairSpecs(context.users, plan, kind, true), server, tag());
  const opened = await generator.open({
    sides: "both",
    waitPresence: kind === "service",
    concurrency: plan.length * 2,
    timeoutMs: OPEN_TIMEOUT_MS,
  });
  const rssPeakKiB = Math.max(sampler.peak, sampler.sample());
  const verification = generator.verification();
  await generator.close(CLOSE_TIMEOUT_MS);
  const problems = [
    ...failuresOf(kind, verification, false, server, false),
    ...openedFailures(kind, opened.connections, plan.length * 2, "users connected"),
  ];
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
  return { figures, problems };
}
