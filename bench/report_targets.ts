/**
 * The targets, checked against one benchmark run: each a line of the report's targets
 * table with what was measured and whether it is met.
 */
import type { BenchResult, ScenarioResult, ThroughputFigures } from "./results.ts";
import { ratio } from "./stats.ts";
import { fmt, fmtRatio } from "./report_tables.ts";

/** One target, as checked against one run. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  /** `null` when the run did not measure it. */
  readonly met: boolean | null;
}

// Issue 14's targets: ratios to the floor measured in the same run.
const IDLE_TARGET_RATIO = 1.15;
const THROUGHPUT_TARGET = 0.75;
const CPU_TARGET = 1.4;
const P99_TARGET = 1.5;
const FLAT_TARGET = 1.25;
const WAITING_TARGET_MS = 1000;
const WAITING_GROWTH_TARGET = 1.5;

/** The pairs scenarios, of both workloads (id/ack and seed clients). */
function mainPairs(result: BenchResult): ScenarioResult<ThroughputFigures>[] {
  return result.throughput.filter((s) => s.id.startsWith("pairs_") || s.id.startsWith("seed_"));
}

function failedNote(scenario: ScenarioResult<ThroughputFigures>): string {
  const v = scenario.service?.verification;
  if (scenario.ok || v === undefined) return "";
  return ` (scenario FAILED: ${fmt(v.expected - v.delivered)} of ${fmt(v.expected)} not delivered)`;
}

function throughputChecks(result: BenchResult): TargetCheck[] {
  return mainPairs(result).map((s) => {
    const r = ratio(s.service?.deliveredPerSec, s.floor?.deliveredPerSec);
    return {
      target: `Throughput ≥ ${THROUGHPUT_TARGET * 100} % of the floor (${s.title})`,
      measured: (r === null ? "n/a" : `${fmt(r * 100, 1)} %`) + failedNote(s),
      met: r === null ? null : r >= THROUGHPUT_TARGET && s.ok,
    };
  });
}

function cpuChecks(result: BenchResult): TargetCheck[] {
  return mainPairs(result).map((s) => {
    const r = ratio(s.service?.cpuUsPerMessage, s.floor?.cpuUsPerMessage);
    return {
      target: `Server CPU per message ≤ ${CPU_TARGET}x the floor's (${s.title})`,
      measured: `${fmtRatio(r)} (${fmt(s.service?.cpuUsPerMessage, 1)} against ${
        fmt(s.floor?.cpuUsPerMessage, 1)
      } µs)${failedNote(s)}`,
      met: r === null ? null : r <= CPU_TARGET && s.ok,
    };
  });
}

function latencyChecks(result: BenchResult): TargetCheck[] {
  return mainPairs(result).map((s) => {
    const r = ratio(s.service?.latencyMs.p99, s.floor?.latencyMs.p99);
    return {
      target: `p99 latency ≤ ${P99_TARGET}x the floor's (${s.title})`,
      measured: fmtRatio(r) + failedNote(s),
      met: r === null ? null : r <= P99_TARGET && s.ok,
    };
  });
}

function idleCheck(result: BenchResult): TargetCheck {
  const idle = result.idle?.service;
  const floor = result.idle?.floor;
  const r = ratio(idle?.bytesPerConnection, floor?.bytesPerConnection);
  return {
    target: `${
      fmt(idle?.connections ?? 10_000)
    } idle authenticated connections: RSS each ≤ ${IDLE_TARGET_RATIO}x the floor's`,
    measured: idle
      ? `${fmt(idle.bytesPerConnection / 1000, 1)} KB against ${
        fmt((floor?.bytesPerConnection ?? NaN) / 1000, 1)
      } KB (${fmtRatio(r)})`
      : "n/a",
    met: idle && r !== null ? idle.ok && r <= IDLE_TARGET_RATIO : null,
  };
}

function flatCostCheck(result: BenchResult): TargetCheck {
  const points = result.sweep
    .map((point) => result.throughput.find((s) => s.id === point.scenario)?.service ?? null)
    .filter((figures): figures is ThroughputFigures =>
      figures !== null && figures.connections >= 100
    );
  if (points.length < 2) {
    return {
      target: "Cost per message flat up to 10,000 connections",
      measured: "n/a",
      met: null,
    };
  }
  const costs = points.map((figures) => figures.cpuUsPerMessage);
  const spread = Math.max(...costs) / Math.min(...costs);
  const lo = points[0].connections;
  const hi = points[points.length - 1].connections;
  return {
    target: `Cost per message flat from ${fmt(lo)} to ${
      fmt(hi)
    } connections (max/min ≤ ${FLAT_TARGET})`,
    measured: `${costs.map((c) => fmt(c, 1)).join(" / ")} µs CPU per message (max/min ${
      spread.toFixed(2)
    })`,
    met: spread <= FLAT_TARGET,
  };
}

function waitingChecks(result: BenchResult): TargetCheck[] {
  const waiting = result.waiting?.service;
  const doubled = waiting?.doubled ?? null;
  const growth = waiting && doubled ? doubled.rssDeltaKiB / Math.max(1, waiting.rssDeltaKiB) : null;
  return [{
    target: `Waiting messages: ${
      fmt(waiting?.messages ?? 10_000)
    } delivered on connect in < 1 s, in order`,
    measured: waiting
      ? `${fmt(waiting.deliveryMs)} ms, ${waiting.ok ? "in order, none lost" : "FAILED"}`
      : "n/a",
    met: waiting ? waiting.ok && waiting.deliveryMs < WAITING_TARGET_MS : null,
  }, {
    target:
      `Waiting messages: memory bounded (streamed in pages): RSS growth at 2N ≤ ${WAITING_GROWTH_TARGET}x that at N`,
    measured: waiting && doubled
      ? `+${fmt(waiting.rssDeltaKiB / 1024, 1)} MiB for ${fmt(waiting.messages)}, +${
        fmt(doubled.rssDeltaKiB / 1024, 1)
      } MiB for ${fmt(doubled.messages)} (${growth!.toFixed(2)}x)`
      : "n/a",
    met: growth === null ? null : growth <= WAITING_GROWTH_TARGET,
  }];
}

/** Checks every target of the issue against `result`. */
export function checkTargets(result: BenchResult): TargetCheck[] {
  return [
    ...throughputChecks(result),
    ...cpuChecks(result),
    ...latencyChecks(result),
    idleCheck(result),
    flatCostCheck(result),
    ...waitingChecks(result),
  ];
}
