/**
 * Formatting for the benchmark report: numbers, ratios, markdown tables, and the metrics of each
 * scenario shown side by side for the service and the floor.
 */
import type {
  IdleFigures,
  LoginFigures,
  ScenarioResult,
  ThroughputFigures,
  WaitingFigures,
} from "./results.ts";
import { ratio } from "./stats.ts";

/** A number with `digits` decimals and thousands separators; "n/a" when missing. */
export function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A ratio as `0.41x`; "n/a" when missing. */
export function fmtRatio(value: number | null): string {
  return value === null ? "n/a" : `${value.toFixed(value < 10 ? 2 : 1)}x`;
}

export function verdict(met: boolean | null): string {
  return met === null ? "—" : met ? "met" : "**not met**";
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/** A markdown table; numbers (every column but the first) are right-aligned unless `text`. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  text = false,
): string {
  const align = header.map((_, i) => (i === 0 || text ? "---" : "---:"));
  return [row(header), row(align), ...rows.map(row)].join("\n");
}

type Metric<F> = readonly [
  label: string,
  value: (f: F) => number | null,
  digits: number,
  /** How to read the ratio: service / floor, where higher or lower is better. */
  better: "higher" | "lower" | "none",
];

export function comparison<F>(
  scenario: Pick<ScenarioResult<F>, "service" | "floor">,
  metrics: readonly Metric<F>[],
  header: readonly string[] = ["", "service", "floor", "service / floor"],
): string {
  const rows = metrics.map(([label, value, digits, better]) => {
    const service = scenario.service ? value(scenario.service) : null;
    const floor = scenario.floor ? value(scenario.floor) : null;
    const r = better === "none" ? null : ratio(service, floor);
    return [label, fmt(service, digits), fmt(floor, digits), fmtRatio(r)];
  });
  return table(header, rows);
}

export const THROUGHPUT_METRICS: readonly Metric<ThroughputFigures>[] = [
  ["delivered messages / s", (f) => f.deliveredPerSec, 0, "higher"],
  ["latency p50 (ms)", (f) => f.latencyMs.p50, 2, "lower"],
  ["latency p90 (ms)", (f) => f.latencyMs.p90, 2, "lower"],
  ["latency p99 (ms)", (f) => f.latencyMs.p99, 2, "lower"],
  ["latency max (ms)", (f) => f.latencyMs.max, 2, "lower"],
  ["messages delivered", (f) => f.delivered, 0, "none"],
  ["send phase (ms)", (f) => f.durationMs, 0, "lower"],
  ["server CPU per message (µs)", (f) => f.cpuUsPerMessage, 1, "lower"],
  ["server CPU busy (% of its core)", (f) => f.server.cpuPercent, 0, "none"],
  ["generator CPU busy (% of its core)", (f) => f.generatorCpuPercent, 0, "none"],
  ["other processes' CPU (% of a core)", (f) => f.otherCpuPercent, 0, "none"],
  ["connections", (f) => f.connections, 0, "none"],
  ["connection setup (ms, to all ready)", (f) => f.connectMs, 0, "lower"],
  ["connections / s", (f) => f.connectPerSec, 0, "higher"],
  ["server RSS at start (MiB)", (f) => f.server.rssStartKiB / 1024, 1, "lower"],
  ["server RSS peak (MiB)", (f) => f.server.rssPeakKiB / 1024, 1, "lower"],
  ["server log lines during sends", (f) => f.server.logLines, 0, "none"],
];

export const IDLE_METRICS: readonly Metric<IdleFigures>[] = [
  ["connections", (f) => f.connections, 0, "none"],
  ["RSS per connection (KB)", (f) => f.bytesPerConnection / 1000, 2, "lower"],
  ["RSS before (MiB)", (f) => f.rssBeforeKiB / 1024, 1, "lower"],
  ["RSS with every connection open (MiB)", (f) => f.rssAfterKiB / 1024, 1, "lower"],
  ["RSS peak (MiB)", (f) => f.rssPeakKiB / 1024, 1, "lower"],
  ["connection setup (ms, to all ready)", (f) => f.connectMs, 0, "lower"],
  ["connections / s", (f) => f.connectPerSec, 0, "higher"],
  ["connect latency p50 (ms)", (f) => f.connectLatencyMs.p50, 2, "lower"],
  ["connect latency p99 (ms)", (f) => f.connectLatencyMs.p99, 2, "lower"],
  ["other processes' CPU (% of a core)", (f) => f.otherCpuPercent, 0, "none"],
];

export const WAITING_METRICS: readonly Metric<WaitingFigures>[] = [
  ["messages waiting", (f) => f.messages, 0, "none"],
  ["connect to last message (ms)", (f) => f.deliveryMs, 0, "none"],
  ["connect to first message (ms)", (f) => f.firstMessageMs, 1, "none"],
  ["delivered / s on connect", (f) => f.deliveredPerSec, 0, "none"],
  ["storing them: sender's messages / s (to the last 30010)", (f) => f.storedPerSec, 0, "none"],
  ["RSS before connect (MiB)", (f) => f.rssBeforeKiB / 1024, 1, "none"],
  ["RSS peak during delivery (MiB)", (f) => f.rssPeakKiB / 1024, 1, "none"],
  ["RSS growth (MiB)", (f) => f.rssDeltaKiB / 1024, 1, "none"],
  ["twice the backlog: messages", (f) => f.doubled?.messages ?? null, 0, "none"],
  [
    "twice the backlog: connect to last message (ms)",
    (f) => f.doubled?.deliveryMs ?? null,
    0,
    "none",
  ],
  [
    "twice the backlog: connect to first message (ms)",
    (f) => f.doubled?.firstMessageMs ?? null,
    1,
    "none",
  ],
  [
    "twice the backlog: RSS growth (MiB)",
    (f) => (f.doubled ? f.doubled.rssDeltaKiB / 1024 : null),
    1,
    "none",
  ],
  ["other processes' CPU (% of a core)", (f) => f.otherCpuPercent, 0, "none"],
];

export const LOGIN_METRICS: readonly Metric<LoginFigures>[] = [
  ["users", (f) => f.users, 0, "none"],
  ["start to last login answer (ms)", (f) => f.loginMs, 0, "none"],
  ["logins / s", (f) => f.loginPerSec, 1, "none"],
  ["login latency p50 (ms)", (f) => f.loginLatencyMs.p50, 0, "none"],
  ["login latency p99 (ms)", (f) => f.loginLatencyMs.p99, 0, "none"],
  ["start to every socket ready (ms)", (f) => f.readyMs, 0, "lower"],
  ["socket connect latency p50 (ms)", (f) => f.connectLatencyMs.p50, 2, "lower"],
  ["socket connect latency p99 (ms)", (f) => f.connectLatencyMs.p99, 2, "lower"],
  ["server RSS peak (MiB)", (f) => f.rssPeakKiB / 1024, 1, "lower"],
  ["other processes' CPU (% of a core)", (f) => f.otherCpuPercent, 0, "none"],
];
