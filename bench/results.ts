/**
 * The shape of a benchmark result file (`bench/results/<time>.json`), shared by the runner that
 * writes it and the report that turns it into `docs/performance.md`.
 */
import type { ClientKind } from "./bench_socket.ts";
import type { Percentiles } from "./stats.ts";
import type { MachineInfo } from "./system.ts";
import type { Verification } from "./worker_protocol.ts";

/** Server memory and CPU over one measured phase. */
export interface ServerUsage {
  /** Right after start, before the scenario's connections. */
  readonly rssStartKiB: number;
  /** Once every connection is ready. */
  readonly rssReadyKiB: number;
  /** Highest sample (every 50 ms) during the scenario. */
  readonly rssPeakKiB: number;
  /** CPU time used during the measured phase, in ms (all threads). */
  readonly cpuMs: number;
  /** `cpuMs` over the phase's wall time: 100 means one core busy all the time. */
  readonly cpuPercent: number;
  /** Server log lines written (each is a write to a pipe). */
  readonly logLines: number;
}

/** The figures of one server (service or floor) in a pairs scenario or sweep point. */
export interface ThroughputFigures {
  readonly connections: number;
  /** First connect to every socket ready (open, and 30098 for the service), in ms. */
  readonly connectMs: number;
  readonly connectPerSec: number;
  readonly connectLatencyMs: Percentiles;
  /** Messages delivered (distinct, counted by the receivers). */
  readonly delivered: number;
  /** First send to last receipt, in ms. */
  readonly durationMs: number;
  readonly deliveredPerSec: number;
  /** Send -> receipt by the peer. */
  readonly latencyMs: Percentiles;
  /** Server CPU per delivered message, in microseconds. */
  readonly cpuUsPerMessage: number;
  readonly server: ServerUsage;
  /** CPU of the whole load generator over the same phase, in % of one core. */
  readonly generatorCpuPercent: number;
  /** Other processes' CPU during the measured phase, in % of one core (the machine is shared). */
  readonly otherCpuPercent: number;
  readonly verification: Verification;
  readonly ok: boolean;
}

/** Idle connections: memory per connection. */
export interface IdleFigures {
  readonly connections: number;
  readonly connectMs: number;
  readonly connectPerSec: number;
  readonly connectLatencyMs: Percentiles;
  readonly rssBeforeKiB: number;
  /** After every connection is ready and held for `holdMs`. */
  readonly rssAfterKiB: number;
  readonly rssPeakKiB: number;
  /** `(rssAfter - rssBefore) / connections`, in bytes. */
  readonly bytesPerConnection: number;
  readonly holdMs: number;
  /** Other processes' CPU during the measured phase, in % of one core (the machine is shared). */
  readonly otherCpuPercent: number;
  readonly verification: Verification;
  readonly ok: boolean;
}

/** Waiting messages: one user receives a backlog on connect. */
export interface WaitingFigures {
  readonly messages: number;
  /** The sender storing the backlog (until the last 30010), in ms. */
  readonly storeMs: number;
  readonly storedPerSec: number;
  /** Receiver's connect request to its last message, in ms. */
  readonly deliveryMs: number;
  /** Receiver's connect request to its first message, in ms. */
  readonly firstMessageMs: number;
  readonly deliveredPerSec: number;
  readonly rssBeforeKiB: number;
  readonly rssPeakKiB: number;
  readonly rssDeltaKiB: number;
  /** The same at twice the backlog, to see whether memory grows with it. */
  readonly doubled: WaitingFigures | null;
  /** Other processes' CPU during the measured phase, in % of one core (the machine is shared). */
  readonly otherCpuPercent: number;
  readonly verification: Verification;
  readonly ok: boolean;
}

/** Many users logging in and connecting at once. */
export interface LoginFigures {
  readonly users: number;
  /** Start to the last login answer, in ms (0 for the floor, which has no login). */
  readonly loginMs: number;
  readonly loginPerSec: number;
  readonly loginLatencyMs: Percentiles;
  /** Start to every socket ready (open and, for the service, 30098), in ms. */
  readonly readyMs: number;
  readonly connectLatencyMs: Percentiles;
  readonly rssPeakKiB: number;
  /** Other processes' CPU during the measured phase, in % of one core (the machine is shared). */
  readonly otherCpuPercent: number;
  readonly verification: Verification;
  readonly ok: boolean;
}

/** Users created for the run over HTTP. */
export interface SetupFigures {
  readonly users: number;
  /** Registrations measured with the server pinned (the first ones), and their rate. */
  readonly registerMeasured: number;
  readonly registerPerSec: number;
  readonly loginMeasured: number;
  readonly loginPerSec: number;
  readonly concurrency: number;
  /** Wall time of the whole setup, in ms (the rest ran with the server unpinned). */
  readonly totalMs: number;
}

/** A scenario: the same load against the service and the floor. */
export interface ScenarioResult<F> {
  readonly id: string;
  readonly title: string;
  /** A pairs scenario's clients: `pairs` (id/ack, also in older files) or `seed`. */
  readonly workload?: "pairs" | "seed";
  readonly params: Readonly<Record<string, number>>;
  readonly service: F | null;
  /** `null` when the floor has no counterpart (waiting messages need storage). */
  readonly floor: F | null;
  readonly ok: boolean;
  readonly failures: string[];
}

/** Cluster mode against the embedded service, under one workload (both unpinned). */
export interface ClusterResult {
  readonly id: string;
  readonly title: string;
  readonly workload: "pairs" | "seed";
  readonly params: Readonly<Record<string, number>>;
  /** One embedded process: SQLite and the in-process hub. */
  readonly embedded: ThroughputFigures | null;
  /** Two nodes, every pair split across them: PostgreSQL and Redis. CPU and RSS are summed. */
  readonly cluster: ThroughputFigures | null;
  /** Registering and logging in the cluster's users over HTTP, in ms. */
  readonly setupMs: number;
  readonly ok: boolean;
  readonly failures: string[];
}

/** One point of the sweep over the number of pairs. */
export interface SweepPoint {
  readonly pairs: number;
  readonly messagesPerClient: number;
  /** The scenario this point was taken from. */
  readonly scenario: string;
}

/** Durable commit cost of SQLite on the disk holding the databases. */
export interface DiskProbe {
  readonly commits: number;
  readonly fullCommitUs: number;
  readonly normalCommitUs: number;
  /** Rows per transaction in the group-commit probe, and its cost per row with FULL. */
  readonly groupRows: number;
  readonly fullGroupRowUs: number;
}

/** A whole run. */
export interface BenchResult {
  readonly version: 1;
  readonly mode: "full" | "quick";
  readonly startedAt: string;
  readonly durationS: number;
  readonly machine: MachineInfo;
  readonly settings: {
    readonly workers: number;
    readonly client: ClientKind;
    /** The service's entry point: `main.ts`, or a lever variant in `bench/`. */
    readonly service: string;
    /** Messages in flight per id/ack client (unacknowledged). */
    readonly window: number;
    /** Messages in flight per seed client (not yet received by the peer); absent in older files. */
    readonly seedWindow?: number;
    readonly msgChars: number;
    readonly profile: boolean;
  };
  readonly disk: DiskProbe;
  readonly setup: SetupFigures;
  readonly throughput: ScenarioResult<ThroughputFigures>[];
  readonly sweep: SweepPoint[];
  readonly idle: ScenarioResult<IdleFigures> | null;
  readonly waiting: ScenarioResult<WaitingFigures> | null;
  readonly login: ScenarioResult<LoginFigures> | null;
  /** Cluster mode against the embedded service; absent in older files, empty when skipped. */
  readonly cluster?: ClusterResult[];
  /** Top CPU consumers of the service per profiled scenario (`--profile`). */
  readonly profiles: Readonly<Record<string, ProfileEntry[]>>;
  readonly ok: boolean;
  readonly failures: string[];
  /** What the run had to change or could not do (pinning, open-file limit, profiles). */
  readonly notes: string[];
}

/** One line of a CPU profile summary. */
export interface ProfileEntry {
  readonly name: string;
  readonly where: string;
  readonly selfPercent: number;
}

/** Whether a verification shows the delivery was complete and clean. */
export function verificationFailures(
  v: Verification,
  label: string,
  acksExpected = true,
): string[] {
  const out: string[] = [];
  if (v.delivered !== v.expected) {
    out.push(`${label}: ${v.expected - v.delivered} of ${v.expected} messages lost`);
  }
  if (v.duplicated > 0) out.push(`${label}: ${v.duplicated} messages duplicated`);
  if (v.outOfOrder > 0) out.push(`${label}: ${v.outOfOrder} messages out of order`);
  if (v.idRegressions > 0) out.push(`${label}: ${v.idRegressions} message_id regressions`);
  if (acksExpected && v.acked !== v.expected) {
    out.push(`${label}: ${v.acked} of ${v.expected} messages acknowledged`);
  }
  if (v.badAcks > 0) out.push(`${label}: ${v.badAcks} unexpected acks`);
  if (v.errorCount > 0) {
    out.push(`${label}: ${v.errorCount} errors, first: ${v.errors.slice(0, 3).join(" | ")}`);
  }
  return out;
}
