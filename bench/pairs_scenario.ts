/**
 * The pairs scenario: P pairs, both sides open, then every client sends M messages with a
 * bounded window; measured against the service and the floor in turn.
 */
import type { ServerKind } from "./server_process.ts";
import { cpuMs } from "./system.ts";
import { percentiles, round } from "./stats.ts";
import { now } from "./worker_protocol.ts";
import type { ScenarioResult, ServerUsage, ThroughputFigures } from "./results.ts";
import type { DeliveryResult, OpenResult } from "./generator.ts";
import type { Workload } from "./bench_options.ts";
import {
  type BenchContext,
  bothServers,
  CLOSE_TIMEOUT_MS,
  failuresOf,
  type MeasuredServer,
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

/** CPU and wall time of the send phase, read before and after it. */
interface PhaseUsage {
  readonly wallMs: number;
  readonly serverCpuMs: number;
  readonly generatorCpuMs: number;
  readonly otherCpuPercent: number;
  readonly logLines: number;
}

/** P pairs, both sides open, then every client sends M messages with a bounded window. */
export async function pairsScenario(
  context: BenchContext,
  workload: Workload,
  pairs: number,
  messages: number,
  prefix: string = workload.name,
): Promise<ScenarioResult<ThroughputFigures>> {
  const id = `${prefix}_${pairs}x${messages}`;
  const title = `${pairs} pairs x ${messages} messages per client, ${workload.label}`;
  const plan = planPairs(context.users.length, pairs);
  const failures: string[] = [];
  const measure = (kind: ServerKind) =>
    withServer(context, kind, id, async (server, sampler) => {
      const figures = await measurePairs(context, kind, server, sampler, {
        plan,
        messages,
        workload,
      });
      failures.push(...figures.problems);
      return figures.figures;
    });
  const { floor, service } = await bothServers(context, measure);
  return {
    id,
    title,
    workload: workload.name,
    params: { pairs, messagesPerClient: messages, window: workload.window },
    service,
    floor,
    ok: failures.length === 0,
    failures,
  };
}

/** The load of a pairs measurement; `sides`: the node each side connects to (a cluster). */
export interface PairsLoad {
  readonly plan: readonly [number, number][];
  readonly messages: number;
  readonly workload: Workload;
  readonly sides?: { readonly a: string; readonly b: string };
}

/** Opens every pair on `server`, runs the send phase and returns its figures and problems. */
export async function measurePairs(
  context: BenchContext,
  kind: ServerKind,
  server: MeasuredServer,
  sampler: RssSampler,
  load: PairsLoad,
): Promise<{ figures: ThroughputFigures; problems: string[] }> {
  const { generator } = context;
  const { plan, workload, sides } = load;
  const rssStartKiB = sampler.sample();
  const specs = pairSpecs(context.users, plan, kind).map((pair) =>
    sides === undefined
      ? pair
      : { a: { ...pair.a, wsBase: sides.a }, b: { ...pair.b, wsBase: sides.b } }
  );
  await generator.assign(specs, server, tag());
  const opened = await generator.open({
    sides: "both",
    waitPresence: kind === "service",
    concurrency: context.connectConcurrency,
    timeoutMs: OPEN_TIMEOUT_MS,
  });
  const rssReadyKiB = sampler.sample();
  const { sent, usage } = await sendPhase(context, server, load.messages, workload);
  const verification = generator.verification();
  await generator.close(CLOSE_TIMEOUT_MS);
  const problems = [
    ...failuresOf(`${kind}`, verification, sent.timedOut, server, workload.withIds),
    ...openedFailures(kind, opened.connections, plan.length * 2),
  ];
  const serverUsage: ServerUsage = {
    rssStartKiB,
    rssReadyKiB,
    rssPeakKiB: sampler.peak,
    cpuMs: round(usage.serverCpuMs),
    cpuPercent: round((usage.serverCpuMs / usage.wallMs) * 100),
    logLines: usage.logLines,
  };
  const figures = throughputFigures(opened, sent, usage, serverUsage, verification, problems);
  logFigures(context, kind, figures);
  return { figures, problems };
}

/** The measured phase: every client sends its messages; CPU and wall time around it. */
async function sendPhase(
  context: BenchContext,
  server: MeasuredServer,
  messages: number,
  workload: Workload,
): Promise<{ sent: DeliveryResult; usage: PhaseUsage }> {
  const foreign = await quietPhase(context, server);
  const linesBefore = server.logLines.stdout + server.logLines.stderr;
  const serverCpu0 = server.cpuMs();
  const generatorCpu0 = cpuMs(Deno.pid) ?? NaN;
  const wall0 = now();
  const sent = await context.generator.send({
    senders: "both",
    messages,
    window: workload.window,
    withIds: workload.withIds,
    msgChars: context.msgChars,
    awaitDelivery: true,
    timeoutMs: SEND_TIMEOUT_MS,
  });
  const usage: PhaseUsage = {
    wallMs: now() - wall0,
    otherCpuPercent: round(foreign.percent()),
    serverCpuMs: server.cpuMs() - serverCpu0,
    generatorCpuMs: (cpuMs(Deno.pid) ?? NaN) - generatorCpu0,
    logLines: server.logLines.stdout + server.logLines.stderr - linesBefore,
  };
  return { sent, usage };
}

function throughputFigures(
  opened: OpenResult,
  sent: DeliveryResult,
  usage: PhaseUsage,
  server: ServerUsage,
  verification: ThroughputFigures["verification"],
  problems: readonly string[],
): ThroughputFigures {
  const durationMs = sent.lastReceiptAt - sent.startedAt;
  const connectMs = opened.readyAt - opened.startedAt;
  return {
    connections: opened.connections,
    connectMs: round(connectMs),
    connectPerSec: round((opened.connections / connectMs) * 1000),
    connectLatencyMs: percentiles(opened.connectMs),
    delivered: verification.delivered,
    durationMs: round(durationMs),
    deliveredPerSec: round((verification.delivered / durationMs) * 1000),
    latencyMs: percentiles(sent.latencyMs),
    cpuUsPerMessage: round((usage.serverCpuMs * 1000) / Math.max(1, verification.delivered), 2),
    server,
    generatorCpuPercent: round((usage.generatorCpuMs / usage.wallMs) * 100),
    otherCpuPercent: usage.otherCpuPercent,
    verification,
    ok: problems.length === 0,
  };
}

function logFigures(context: BenchContext, kind: ServerKind, figures: ThroughputFigures): void {
  context.log(
    `  ${kind.padEnd(7)} ${figures.deliveredPerSec} msg/s, p50 ${figures.latencyMs.p50} ms, ` +
      `p99 ${figures.latencyMs.p99} ms, server CPU ${figures.server.cpuPercent}%, generator CPU ` +
      `${figures.generatorCpuPercent}%, other CPU ${figures.otherCpuPercent}%, ` +
      `${figures.cpuUsPerMessage} us/msg${figures.ok ? "" : "  FAILED"}`,
  );
}
