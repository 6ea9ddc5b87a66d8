/**
 * Turns a result file into `docs/performance.md` and `docs/performance_chart.svg`. Only the part
 * of the markdown between the GENERATED markers is rewritten; the text around it (analysis,
 * levers) is kept, and the file is formatted with `deno fmt`.
 * Run: deno task bench:report [result.json]
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderChart } from "./chart_svg.ts";
import type {
  BenchResult,
  IdleFigures,
  LoginFigures,
  ScenarioResult,
  ThroughputFigures,
  WaitingFigures,
} from "./results.ts";
import { ratio } from "./stats.ts";

const BEGIN = "<!-- BEGIN GENERATED: bench/report.ts from bench/results/latest.json -->";
const END = "<!-- END GENERATED -->";
const CHART_FILE = "performance_chart.svg";

/** The targets, as checked against one run. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  /** `null` when the run did not measure it. */
  readonly met: boolean | null;
}

const IDLE_TARGET_BYTES = 30_000;
const THROUGHPUT_TARGET = 0.9;
const P99_TARGET = 2;
const FLAT_TARGET = 1.25;
const WAITING_TARGET_MS = 1000;

function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function fmtRatio(value: number | null): string {
  return value === null ? "n/a" : `${value.toFixed(value < 10 ? 2 : 1)}x`;
}

function mainPairs(result: BenchResult): ScenarioResult<ThroughputFigures>[] {
  return result.throughput.filter((s) => s.id.startsWith("pairs_"));
}

function failedNote(scenario: ScenarioResult<ThroughputFigures>): string {
  const v = scenario.service?.verification;
  if (scenario.ok || v === undefined) return "";
  return ` (scenario FAILED: ${fmt(v.expected - v.delivered)} of ${fmt(v.expected)} not delivered)`;
}

/** Checks every target of the issue against `result`. */
export function checkTargets(result: BenchResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const s of mainPairs(result)) {
    const r = ratio(s.service?.deliveredPerSec, s.floor?.deliveredPerSec);
    checks.push({
      target: `Throughput ≥ 90 % of the floor (${s.title})`,
      measured: (r === null ? "n/a" : `${fmt(r * 100, 1)} %`) + failedNote(s),
      met: r === null ? null : r >= THROUGHPUT_TARGET && s.ok,
    });
  }
  for (const s of mainPairs(result)) {
    const r = ratio(s.service?.latencyMs.p99, s.floor?.latencyMs.p99);
    checks.push({
      target: `p99 latency ≤ 2x the floor's (${s.title})`,
      measured: fmtRatio(r) + failedNote(s),
      met: r === null ? null : r <= P99_TARGET && s.ok,
    });
  }
  const idle = result.idle?.service;
  checks.push({
    target: `${fmt(idle?.connections ?? 10_000)} idle authenticated connections: ≤ 30 KB RSS each`,
    measured: idle ? `${fmt(idle.bytesPerConnection / 1000, 1)} KB` : "n/a",
    met: idle ? idle.ok && idle.bytesPerConnection <= IDLE_TARGET_BYTES : null,
  });
  const points = result.sweep
    .map((point) => ({
      point,
      figures: result.throughput.find((s) => s.id === point.scenario)?.service ?? null,
    }))
    .filter((entry) => entry.figures !== null && entry.figures.connections >= 100);
  if (points.length >= 2) {
    const costs = points.map((entry) => entry.figures!.cpuUsPerMessage);
    const spread = Math.max(...costs) / Math.min(...costs);
    const lo = points[0].figures!.connections;
    const hi = points[points.length - 1].figures!.connections;
    checks.push({
      target: `Cost per message flat from ${fmt(lo)} to ${fmt(hi)} connections (max/min ≤ 1.25)`,
      measured: `${costs.map((c) => fmt(c, 1)).join(" / ")} µs CPU per message (max/min ${
        spread.toFixed(2)
      })`,
      met: spread <= FLAT_TARGET,
    });
  } else {
    checks.push({
      target: "Cost per message flat up to 10,000 connections",
      measured: "n/a",
      met: null,
    });
  }
  const waiting = result.waiting?.service;
  checks.push({
    target: `Waiting messages: ${
      fmt(waiting?.messages ?? 10_000)
    } delivered on connect in < 1 s, in order`,
    measured: waiting
      ? `${fmt(waiting.deliveryMs)} ms, ${waiting.ok ? "in order, none lost" : "FAILED"}`
      : "n/a",
    met: waiting ? waiting.ok && waiting.deliveryMs < WAITING_TARGET_MS : null,
  });
  const doubled = waiting?.doubled ?? null;
  const growth = waiting && doubled ? doubled.rssDeltaKiB / Math.max(1, waiting.rssDeltaKiB) : null;
  checks.push({
    target:
      "Waiting messages: memory bounded (streamed in pages): RSS growth at 2N ≤ 1.5x that at N",
    measured: waiting && doubled
      ? `+${fmt(waiting.rssDeltaKiB / 1024, 1)} MiB for ${fmt(waiting.messages)}, +${
        fmt(doubled.rssDeltaKiB / 1024, 1)
      } MiB for ${fmt(doubled.messages)} (${growth!.toFixed(2)}x)`
      : "n/a",
    met: growth === null ? null : growth <= 1.5,
  });
  return checks;
}

function verdict(met: boolean | null): string {
  return met === null ? "—" : met ? "met" : "**not met**";
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/** A markdown table; numbers (every column but the first) are right-aligned unless `text`. */
function table(
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

function comparison<F>(scenario: ScenarioResult<F>, metrics: readonly Metric<F>[]): string {
  const rows = metrics.map(([label, value, digits, better]) => {
    const service = scenario.service ? value(scenario.service) : null;
    const floor = scenario.floor ? value(scenario.floor) : null;
    const r = better === "none" ? null : ratio(service, floor);
    return [label, fmt(service, digits), fmt(floor, digits), fmtRatio(r)];
  });
  return table(["", "service", "floor", "service / floor"], rows);
}

const THROUGHPUT_METRICS: readonly Metric<ThroughputFigures>[] = [
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

const IDLE_METRICS: readonly Metric<IdleFigures>[] = [
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

const WAITING_METRICS: readonly Metric<WaitingFigures>[] = [
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

const LOGIN_METRICS: readonly Metric<LoginFigures>[] = [
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

function status(scenario: { ok: boolean; failures: string[] }): string {
  if (scenario.ok) {
    return "Verified: no message lost or duplicated, per-pair order held, every socket ready.";
  }
  return `**FAILED**: ${scenario.failures.join("; ")}`;
}

/** Whether the floor run was limited by the generator rather than by the floor's own core. */
function generatorNote(scenario: ScenarioResult<ThroughputFigures>): string {
  const floor = scenario.floor;
  if (floor === null) return "";
  if (floor.generatorCpuPercent >= 90) {
    return `The generator was near saturation (${
      fmt(floor.generatorCpuPercent)
    } % of its core) while driving the floor: the floor's throughput is a lower bound here.`;
  }
  return `The floor was limited by its own core (${
    fmt(floor.server.cpuPercent)
  } % busy), not by the ` +
    `generator (${fmt(floor.generatorCpuPercent)} %).`;
}

function sweepRows(result: BenchResult): string[][] {
  return result.sweep.map((point) => {
    const s = result.throughput.find((t) => t.id === point.scenario);
    return [
      fmt(point.pairs),
      fmt((s?.service ?? s?.floor)?.connections),
      fmt(point.messagesPerClient),
      fmt(s?.service?.deliveredPerSec),
      fmt(s?.floor?.deliveredPerSec),
      fmtRatio(ratio(s?.service?.deliveredPerSec, s?.floor?.deliveredPerSec)),
      fmt(s?.service?.latencyMs.p99, 1),
      fmt(s?.floor?.latencyMs.p99, 1),
      fmtRatio(ratio(s?.service?.latencyMs.p99, s?.floor?.latencyMs.p99)),
      fmt(s?.service?.cpuUsPerMessage, 1),
      fmt(s?.floor?.cpuUsPerMessage, 1),
    ];
  });
}

/** The chart of throughput and p99 against pairs. */
export function renderSweepChart(result: BenchResult): string {
  const xs = result.sweep.map((p) => p.pairs);
  const series = (pick: (f: ThroughputFigures) => number, kind: "service" | "floor") =>
    result.sweep.flatMap((point) => {
      const figures = result.throughput.find((t) => t.id === point.scenario)?.[kind];
      return figures ? [{ x: point.pairs, y: pick(figures) }] : [];
    });
  const both = (pick: (f: ThroughputFigures) => number) => [
    { label: "service", color: "#1f77b4", dashed: false, points: series(pick, "service") },
    { label: "floor (bare relay)", color: "#d62728", dashed: true, points: series(pick, "floor") },
  ];
  return renderChart(
    `Chat service vs bare Deno relay, ${result.machine.cpuModel}, ${result.startedAt.slice(0, 10)}`,
    xs,
    [
      {
        title: "Delivered messages per second",
        yLabel: "messages / s",
        logY: false,
        series: both((f) => f.deliveredPerSec),
      },
      {
        title: "p99 latency, send to receipt",
        yLabel: "ms (log scale)",
        logY: true,
        series: both((f) => f.latencyMs.p99),
      },
    ],
  );
}

/** The generated part of `docs/performance.md`. */
export function renderGenerated(result: BenchResult): string {
  const m = result.machine;
  const out: string[] = [BEGIN, ""];
  out.push(
    `Run of ${result.startedAt} (${result.mode} mode, ${result.durationS} s), ` +
      `\`deno task bench\`. Result file: \`bench/results/latest.json\`.`,
    "",
  );
  out.push(
    table(["machine", ""], [
      ["CPU", `${m.cpuModel}, ${m.cores} cores`],
      ["memory", `${m.memoryGiB} GiB`],
      ["kernel", `${m.os}, Linux ${m.kernel}`],
      ["runtime", `Deno ${m.deno}, V8 ${m.v8}, TypeScript ${m.typescript}`],
      [
        "pinning",
        m.pinned
          ? `server on core ${m.serverCores}, load generator (${result.settings.workers} workers) ` +
            `on core ${m.generatorCores} (taskset)`
          : "none",
      ],
      ["database disk", m.databaseFilesystem],
      [
        "SQLite commit (WAL), one row each",
        `${fmt(result.disk.fullCommitUs)} µs with synchronous=FULL, ${
          fmt(result.disk.normalCommitUs, 1)
        } µs with NORMAL`,
      ],
      [
        "SQLite group commit (FULL)",
        `${
          fmt(result.disk.fullGroupRowUs, 1)
        } µs a row with ${result.disk.groupRows} rows a commit`,
      ],
      ["service under test", `\`${result.settings.service}\` (${result.settings.client} client)`],
      ["open-file limit", fmt(m.openFileLimit)],
      [
        "load",
        `window ${result.settings.window} unacknowledged messages per client, ${result.settings.msgChars}-character messages`,
      ],
    ], true),
    "",
  );

  out.push("### Targets", "");
  out.push(
    table(
      ["target", "measured", "verdict"],
      checkTargets(result).map((c) => [c.target, c.measured, verdict(c.met)]),
      true,
    ),
  );
  out.push("");
  if (!result.ok) out.push(`**This run FAILED**: ${result.failures.join("; ")}`, "");
  for (const note of result.notes) out.push(`Note: ${note}`, "");

  for (const scenario of result.throughput) {
    out.push(`### ${scenario.title}`, "");
    out.push(comparison(scenario, THROUGHPUT_METRICS), "", status(scenario), "");
    const note = generatorNote(scenario);
    if (note !== "") out.push(note, "");
  }

  if (result.sweep.length > 0) {
    out.push("### Sweep: throughput, p99 and cost per message against pairs", "");
    out.push(`![Throughput and p99 against pairs](${CHART_FILE})`, "");
    out.push(
      table(
        [
          "pairs",
          "connections",
          "msgs / client",
          "service msg/s",
          "floor msg/s",
          "ratio",
          "service p99 ms",
          "floor p99 ms",
          "ratio",
          "service µs CPU/msg",
          "floor µs CPU/msg",
        ],
        sweepRows(result),
      ),
      "",
    );
  }

  if (result.idle) {
    out.push(`### ${result.idle.title}`, "");
    out.push(comparison(result.idle, IDLE_METRICS), "", status(result.idle), "");
  }
  if (result.waiting) {
    out.push(`### ${result.waiting.title}`, "");
    out.push(
      "The floor has no storage, so it has no counterpart here; the target is absolute.",
      "",
      comparison(result.waiting, WAITING_METRICS),
      "",
      status(result.waiting),
      "",
    );
  }
  if (result.login) {
    out.push(`### ${result.login.title}`, "");
    out.push(
      "The floor has no login: its row is the sockets alone, all opened at once.",
      "",
      comparison(result.login, LOGIN_METRICS),
      "",
      status(result.login),
      "",
    );
  }

  const s = result.setup;
  out.push("### Users (set-up, over HTTP)", "");
  out.push(
    table(["", "value"], [
      ["users created", fmt(s.users)],
      [
        `registrations / s (first ${
          fmt(s.registerMeasured)
        }, server pinned, ${s.concurrency} in flight)`,
        fmt(s.registerPerSec, 1),
      ],
      [
        `logins / s (first ${fmt(s.loginMeasured)}, server pinned, ${s.concurrency} in flight)`,
        fmt(s.loginPerSec, 1),
      ],
      ["whole set-up (s; the rest ran with the server on every core)", fmt(s.totalMs / 1000, 1)],
    ]),
    "",
  );

  const profiled = Object.entries(result.profiles);
  if (profiled.length > 0) {
    out.push("### Service CPU profile (self time, top functions)", "");
    for (const [scenario, entries] of profiled) {
      out.push(`${scenario}:`, "");
      out.push(
        table(
          ["self %", "function", "where"],
          entries.slice(0, 15).map((e) => [fmt(e.selfPercent, 1), `\`${e.name}\``, e.where]),
          true,
        ),
        "",
      );
    }
  }
  out.push(END);
  return out.join("\n");
}

const SKELETON = `# Performance

How many people the chat service holds on one machine and how fast a message crosses it,
measured by \`deno task bench\` against a bare \`Deno.serve\` relay (the floor) in the same run.
Everything between the GENERATED markers is rewritten by \`bench/report.ts\` from the result file;
the text outside them is written by hand.

${BEGIN}
${END}
`;

/** Writes the markdown (keeping the hand-written text) and the chart into `docsDir`. */
export async function writeReport(result: BenchResult, docsDir: string): Promise<string[]> {
  await Deno.mkdir(docsDir, { recursive: true });
  const mdPath = join(docsDir, "performance.md");
  let current = SKELETON;
  try {
    current = await Deno.readTextFile(mdPath);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const begin = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (begin < 0 || end < begin) {
    throw new Error(`${mdPath} has lost its GENERATED markers; put them back to regenerate it`);
  }
  const next = current.slice(0, begin) + renderGenerated(result) + current.slice(end + END.length);
  await Deno.writeTextFile(mdPath, next);
  const written = [mdPath];
  if (result.sweep.length > 0) {
    const chartPath = join(docsDir, CHART_FILE);
    await Deno.writeTextFile(chartPath, renderSweepChart(result));
    written.push(chartPath);
  }
  // `deno task check` runs `deno fmt --check` over docs/ too (markdown and SVG): leave the files
  // as fmt would.
  const formatted = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", ...written],
    cwd: join(docsDir, ".."),
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!formatted.success) {
    throw new Error(`deno fmt failed: ${new TextDecoder().decode(formatted.stderr)}`);
  }
  return written;
}

if (import.meta.main) {
  const root = fileURLToPath(new URL("../", import.meta.url));
  const file = Deno.args[0] ?? join(root, "bench", "results", "latest.json");
  const result = JSON.parse(await Deno.readTextFile(file)) as BenchResult;
  const written = await writeReport(result, join(root, "docs"));
  console.log(`wrote ${written.join(", ")}`);
}
