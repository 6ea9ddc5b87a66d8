/**
 * Turns a result file into `docs/performance.md` and `docs/performance_chart.svg`. Only the part
 * of the markdown between the GENERATED markers is rewritten; the text around it (analysis,
 * levers) is kept, and the file is formatted with `deno fmt`.
 * Run: deno task bench:report [result.json]
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderChart } from "./chart_svg.ts";
import type { BenchResult, ScenarioResult, ThroughputFigures } from "./results.ts";
import { ratio } from "./stats.ts";
import {
  comparison,
  fmt,
  fmtRatio,
  IDLE_METRICS,
  LOGIN_METRICS,
  table,
  THROUGHPUT_METRICS,
  verdict,
  WAITING_METRICS,
} from "./report_tables.ts";
import { checkTargets } from "./report_targets.ts";

export { checkTargets, type TargetCheck } from "./report_targets.ts";

const BEGIN = "<!-- BEGIN GENERATED: bench/report.ts from bench/results/latest.json -->";
const END = "<!-- END GENERATED -->";
const CHART_FILE = "performance_chart.svg";

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

/** The machine and settings of the run. */
function machineTable(result: BenchResult): string {
  const m = result.machine;
  const pinning = m.pinned
    ? `server on core ${m.serverCores}, load generator (${result.settings.workers} workers) ` +
      `on core ${m.generatorCores} (taskset)`
    : "none";
  return table(["machine", ""], [
    ["CPU", `${m.cpuModel}, ${m.cores} cores`],
    ["memory", `${m.memoryGiB} GiB`],
    ["kernel", `${m.os}, Linux ${m.kernel}`],
    ["runtime", `Deno ${m.deno}, V8 ${m.v8}, TypeScript ${m.typescript}`],
    ["pinning", pinning],
    ["database disk", m.databaseFilesystem],
    [
      "SQLite commit (WAL), one row each",
      `${fmt(result.disk.fullCommitUs)} µs with synchronous=FULL, ${
        fmt(result.disk.normalCommitUs, 1)
      } µs with NORMAL`,
    ],
    [
      "SQLite group commit (FULL)",
      `${fmt(result.disk.fullGroupRowUs, 1)} µs a row with ${result.disk.groupRows} rows a commit`,
    ],
    ["service under test", `\`${result.settings.service}\` (${result.settings.client} client)`],
    ["open-file limit", fmt(m.openFileLimit)],
    [
      "load",
      `id/ack clients: ${result.settings.window} unacknowledged in flight; seed clients: ${
        result.settings.seedWindow ?? "n/a"
      } in flight (not yet received); ${result.settings.msgChars}-character messages`,
    ],
  ], true);
}

function targetsSection(result: BenchResult): string[] {
  const out = ["### Targets", ""];
  out.push(
    table(
      ["target", "measured", "verdict"],
      checkTargets(result).map((c) => [c.target, c.measured, verdict(c.met)]),
      true,
    ),
    "",
  );
  if (!result.ok) out.push(`**This run FAILED**: ${result.failures.join("; ")}`, "");
  for (const note of result.notes) out.push(`Note: ${note}`, "");
  return out;
}

function throughputSections(result: BenchResult): string[] {
  const out: string[] = [];
  for (const scenario of result.throughput) {
    out.push(`### ${scenario.title}`, "");
    out.push(comparison(scenario, THROUGHPUT_METRICS), "", status(scenario), "");
    const note = generatorNote(scenario);
    if (note !== "") out.push(note, "");
  }
  if (result.sweep.length === 0) return out;
  out.push("### Sweep: throughput, p99 and cost per message against pairs", "");
  out.push(`![Throughput and p99 against pairs](${CHART_FILE})`, "");
  const header = [
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
  ];
  out.push(table(header, sweepRows(result)), "");
  return out;
}

function storageSections(result: BenchResult): string[] {
  const out: string[] = [];
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
  return out;
}

function clusterSection(result: BenchResult): string[] {
  const runs = result.cluster ?? [];
  if (runs.length === 0) return [];
  const out = ["### Cluster mode: two nodes (PostgreSQL + Redis) against the embedded service", ""];
  out.push(
    "Both unpinned (every core of the machine, shared with the generator, PostgreSQL and Redis). " +
      "In the cluster every pair has one side on each node, so every message crosses nodes; " +
      "its CPU and RSS are the two nodes' summed (PostgreSQL's and Redis's are not counted).",
    "",
  );
  for (const run of runs) {
    out.push(`#### ${run.title}`, "");
    const pair = { service: run.cluster, floor: run.embedded };
    const header = ["", "cluster (2 nodes)", "embedded", "cluster / embedded"];
    out.push(comparison(pair, THROUGHPUT_METRICS, header), "", status(run), "");
    out.push(
      `The cluster's users were registered and logged in over HTTP in ${
        fmt(run.setupMs / 1000, 1)
      } s.`,
      "",
    );
  }
  return out;
}

function setupSection(result: BenchResult): string[] {
  const s = result.setup;
  const rows = [
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
  ];
  return ["### Users (set-up, over HTTP)", "", table(["", "value"], rows), ""];
}

function profileSection(result: BenchResult): string[] {
  const profiled = Object.entries(result.profiles);
  if (profiled.length === 0) return [];
  const out = ["### Service CPU profile (self time, top functions)", ""];
  for (const [scenario, entries] of profiled) {
    const rows = entries.slice(0, 15).map((e) => [fmt(e.selfPercent, 1), `\`${e.name}\``, e.where]);
    out.push(`${scenario}:`, "", table(["self %", "function", "where"], rows, true), "");
  }
  return out;
}

/** The generated part of `docs/performance.md`. */
export function renderGenerated(result: BenchResult): string {
  return [
    BEGIN,
    "",
    `Run of ${result.startedAt} (${result.mode} mode, ${result.durationS} s), ` +
    `\`deno task bench\`. Result file: \`bench/results/latest.json\`.`,
    "",
    machineTable(result),
    "",
    ...targetsSection(result),
    ...throughputSections(result),
    ...storageSections(result),
    ...clusterSection(result),
    ...setupSection(result),
    ...profileSection(result),
    END,
  ].join("\n");
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
