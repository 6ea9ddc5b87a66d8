/**
 * The benchmark: `deno task bench` (full) or `deno task bench --quick` (every scenario at a
 * reduced size, under a minute). It pins itself (the load generator) and the server under test
 * to different cores, creates users over HTTP, runs every scenario against the service and the
 * floor relay, writes `bench/results/<time>.json` and, for a full run, `bench/results/latest.json`,
 * `docs/performance.md` and `docs/performance_chart.svg`.
 *
 * Options:
 *   --quick          reduced sizes, for smoke testing; writes no docs unless --docs
 *   --only=a,b       run only these scenario groups: pairs (id/ack clients), seed (seed
 *                    clients: no id, no acks), sweep, idle, waiting, login, cluster (two
 *                    nodes with PostgreSQL and Redis against the embedded service)
 *   --workers=N      load workers (default 2: they share the generator's core here)
 *   --client=K       the generator's sockets: raw (default, lean) or websocket (Deno's WebSocket)
 *   --profile        write a V8 CPU profile of the service per scenario and summarise it
 *   --docs/--no-docs write (or not) latest.json and the docs
 *   --out=PATH       result file
 *   --servers=a,b    measure only these: service, floor (default both)
 *   --pairs=PxM,...  replace the pairs scenarios' sizes, e.g. --pairs=100x1000
 *   --service=normal run the service with SQLITE_SYNCHRONOUS=NORMAL to
 *                    measure that lever; the default is main.ts as shipped
 *   --reuse-users    keep the users (database and tokens) in bench/results/cache/ and reuse them
 *                    for 12 hours, to skip the slow set-up when measuring levers again and again
 */
import { join } from "node:path";
import { LoadGenerator } from "./generator.ts";
import { REPO_ROOT, type ServerKind, ServerProcess } from "./server_process.ts";
import { type BenchContext, planPairs } from "./scenarios.ts";
import { idleScenario, loginScenario, pairsScenario, waitingScenario } from "./scenarios.ts";
import { benchUsers } from "./user_setup.ts";
import { cachedUsers, createUsers, type RunUsers } from "./user_template.ts";
import {
  FULL,
  ID_ACK,
  type Options,
  type PairsSize,
  parseOptions,
  QUICK,
  SEED,
  SERVICE_SETTINGS,
  type Sizes,
  type Workload,
} from "./bench_options.ts";
import {
  hasTaskset,
  machineInfo,
  openFileLimits,
  pinProcess,
  raiseOpenFileLimit,
} from "./system.ts";
import type { MachineInfo } from "./system.ts";
import { probeDisk } from "./disk_probe.ts";
import { summarizeProfileDir } from "./profile_summary.ts";
import { round } from "./stats.ts";
import { now } from "./worker_protocol.ts";
import type { BenchResult, DiskProbe, ProfileEntry, ScenarioResult } from "./results.ts";
import type { SweepPoint, ThroughputFigures } from "./results.ts";
import { writeReport } from "./report.ts";
import { clusterScenario } from "./cluster_scenario.ts";

const MSG_CHARS = 64;
const CONNECT_CONCURRENCY = 64;
const DISK_PROBE_COMMITS = 500;

function log(text: string): void {
  console.log(text);
}

/** Where the server and the generator run, and what the run had to change. */
interface Placement {
  readonly serverCores: string | null;
  readonly allCores: string | null;
  readonly machine: MachineInfo;
  readonly idlePairs: number;
}

/** Pins this process (the generator) away from core 0 and raises the open-file limit. */
async function place(sizes: Sizes, tmp: string, notes: string[]): Promise<Placement> {
  const cores = navigator.hardwareConcurrency;
  const canPin = cores >= 2 && (await hasTaskset());
  const serverCores = canPin ? "0" : null;
  const generatorCores = canPin ? (cores === 2 ? "1" : `1-${cores - 1}`) : "all";
  if (canPin && !(await pinProcess(Deno.pid, generatorCores))) {
    throw new Error("taskset could not pin the benchmark process");
  }
  if (!canPin) notes.push("Not pinned: taskset is missing or there is one core.");
  // Open files: every idle connection is a socket here and one in the server.
  let idlePairs = sizes.idlePairs;
  const fileLimit = await raiseOpenFileLimit(idlePairs * 2 + 4096);
  if (fileLimit < idlePairs * 2 + 1024) {
    idlePairs = Math.max(1, Math.floor((fileLimit - 1024) / 2));
    notes.push(
      `Open-file limit ${fileLimit} (hard ${openFileLimits().hard}): the idle scenario was cut ` +
        `to ${idlePairs * 2} connections.`,
    );
  }
  const machine = machineInfo(tmp, {
    pinned: canPin,
    serverCores: serverCores ?? "all",
    generatorCores,
  }, fileLimit);
  return { serverCores, allCores: canPin ? `0-${cores - 1}` : null, machine, idlePairs };
}

/** The context every scenario runs with: a fresh server per measurement, from the template. */
function benchContext(
  options: Options,
  generator: LoadGenerator,
  users: RunUsers,
  paths: { tmp: string; templateDb: string; serverCores: string | null },
  profileDirs: Map<string, string>,
): BenchContext {
  let serverRuns = 0;
  return {
    generator,
    users: benchUsers(users.tokens),
    window: ID_ACK.window,
    msgChars: MSG_CHARS,
    connectConcurrency: CONNECT_CONCURRENCY,
    servers: options.servers,
    quietWaitMs: options.quick ? 2000 : 10_000,
    log,
    async profileDir(name: string) {
      if (!options.profile) return undefined;
      const dir = join(paths.tmp, "profiles", `${++serverRuns}-${name}`);
      await Deno.mkdir(dir, { recursive: true });
      profileDirs.set(name, dir);
      return dir;
    },
    async start(kind: ServerKind, scenario: string, pinned = true) {
      const run = ++serverRuns;
      const dbPath = join(paths.tmp, `${run}-${scenario}.db`);
      if (kind === "service") await Deno.copyFile(paths.templateDb, dbPath);
      const profileDir = kind === "service" ? await this.profileDir(scenario) : undefined;
      return await ServerProcess.start({
        kind,
        dbPath,
        cores: pinned ? paths.serverCores : null,
        profileDir,
        serviceEnv: SERVICE_SETTINGS[options.serviceVariant],
      });
    },
  };
}

/** What the scenarios measured. */
type Measured = Pick<
  BenchResult,
  "throughput" | "sweep" | "idle" | "waiting" | "login" | "cluster"
>;

async function runPairsGroups(
  context: BenchContext,
  options: Options,
  sizes: Sizes,
): Promise<Pick<Measured, "throughput" | "sweep">> {
  const throughput: ScenarioResult<ThroughputFigures>[] = [];
  const sweep: SweepPoint[] = [];
  const runPairs = async (workload: Workload, size: PairsSize, prefix: string = workload.name) => {
    const { pairs, messages } = size;
    log(`${prefix}_${pairs}x${messages}: ${pairs} pairs x ${messages} messages, ${workload.label}`);
    const result = await pairsScenario(context, workload, pairs, messages, prefix);
    throughput.push(result);
    if (workload === ID_ACK) {
      sweep.push({ pairs, messagesPerClient: messages, scenario: result.id });
    }
  };
  if (options.only.has("pairs")) { for (const size of sizes.pairs) await runPairs(ID_ACK, size); }
  if (options.only.has("seed")) { for (const size of sizes.pairs) await runPairs(SEED, size); }
  if (options.only.has("sweep")) {
    for (const size of sizes.sweep) {
      planPairs(context.users.length, size.pairs); // Fails early when there are not enough users.
      await runPairs(ID_ACK, size, "sweep");
    }
  }
  sweep.sort((a, b) => a.pairs - b.pairs);
  return { throughput, sweep };
}

async function runScenarios(
  context: BenchContext,
  options: Options,
  sizes: Sizes,
  placement: { idlePairs: number; notes: string[] },
): Promise<Measured> {
  const { idlePairs, notes } = placement;
  const { throughput, sweep } = await runPairsGroups(context, options, sizes);
  let idle = null;
  if (options.only.has("idle")) {
    log(`idle: ${idlePairs * 2} authenticated connections held ${sizes.idleHoldMs} ms`);
    idle = await idleScenario(context, idlePairs, sizes.idleHoldMs);
  }
  let waiting = null;
  if (options.only.has("waiting")) {
    log(`waiting: ${sizes.waitingMessages} stored messages delivered on connect`);
    waiting = await waitingScenario(context, sizes.waitingMessages);
  }
  let login = null;
  if (options.only.has("login")) {
    log(`login: ${sizes.loginUsers} users logging in and connecting at once`);
    login = await loginScenario(context, sizes.loginUsers);
  }
  let cluster = undefined;
  if (options.only.has("cluster")) {
    const { pairs, messages } = sizes.cluster;
    cluster = await clusterScenario(context, [SEED, ID_ACK], pairs, messages, notes);
  }
  return { throughput, sweep, idle, waiting, login, cluster };
}

function summarizeProfiles(
  profileDirs: Map<string, string>,
  notes: string[],
): Record<string, ProfileEntry[]> {
  const profiles: Record<string, ProfileEntry[]> = {};
  for (const [scenario, dir] of profileDirs) {
    const summary = summarizeProfileDir(dir, 25);
    if (summary !== null) profiles[scenario] = summary;
    else notes.push(`No CPU profile was written for ${scenario}.`);
  }
  return profiles;
}

/** The run's header lines: machine and disk. */
function logMachine(options: Options, machine: MachineInfo, disk: DiskProbe): void {
  log(
    `chat benchmark (${options.quick ? "quick" : "full"}): ${machine.cpuModel}, ` +
      `${machine.cores} cores, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Deno ` +
      `${machine.deno}; server on cores ${machine.serverCores}, generator on ` +
      `${machine.generatorCores}, ${options.workers} workers`,
  );
  log(
    `disk: one SQLite commit costs ${disk.fullCommitUs} us with synchronous=FULL, ` +
      `${disk.normalCommitUs} us with NORMAL, ${disk.fullGroupRowUs} us a row with FULL and ` +
      `${disk.groupRows} rows a commit (${machine.databaseFilesystem})`,
  );
}

/** The result file's content. */
function benchResult(
  options: Options,
  machine: MachineInfo,
  run: Pick<BenchResult, "startedAt" | "durationS" | "notes" | "disk" | "setup">,
  measured: Measured,
  profiles: Record<string, ProfileEntry[]>,
): BenchResult {
  const scenarios = [measured.idle, measured.waiting, measured.login, ...measured.throughput];
  const failures = [...scenarios, ...(measured.cluster ?? [])]
    .flatMap((s) => s === null ? [] : s.failures.map((f) => `${s.id}: ${f}`));
  return {
    version: 1,
    mode: options.quick ? "quick" : "full",
    ...run,
    machine,
    settings: {
      workers: options.workers,
      client: options.client,
      service: options.serviceVariant === "main"
        ? "main.ts"
        : "main.ts with SQLITE_SYNCHRONOUS=NORMAL",
      window: ID_ACK.window,
      seedWindow: SEED.window,
      msgChars: MSG_CHARS,
      profile: options.profile,
    },
    ...measured,
    profiles,
    ok: failures.length === 0,
    failures,
  };
}

async function main(): Promise<number> {
  const options = parseOptions(Deno.args);
  const base = options.quick ? QUICK : FULL;
  const sizes = options.pairs === null ? base : { ...base, pairs: options.pairs };
  const started = now();
  const startedAt = new Date().toISOString();
  const notes: string[] = [];
  const tmp = await Deno.makeTempDir({ prefix: "chat-bench-" });
  const placement = await place(sizes, tmp, notes);
  const disk = probeDisk(tmp, DISK_PROBE_COMMITS);
  logMachine(options, placement.machine, disk);
  const generator = new LoadGenerator(options.workers, options.client);
  try {
    const templateDb = join(tmp, "template.db");
    const { serverCores, allCores } = placement;
    const users = options.reuseUsers
      ? await cachedUsers(templateDb, sizes, serverCores, allCores, notes)
      : await createUsers(templateDb, sizes, serverCores, allCores);
    const setup = users.figures;
    log(
      `setup: ${setup.users} users in ${round(setup.totalMs / 1000)} s; pinned rates: ` +
        `${setup.registerPerSec} registrations/s, ${setup.loginPerSec} logins/s`,
    );
    const profileDirs = new Map<string, string>();
    const paths = { tmp, templateDb, serverCores };
    const context = benchContext(options, generator, users, paths, profileDirs);
    const { idlePairs } = placement;
    const measured = await runScenarios(context, options, sizes, { idlePairs, notes });
    const profiles = summarizeProfiles(profileDirs, notes);
    const run = { startedAt, durationS: round((now() - started) / 1000), notes, disk, setup };
    const result = benchResult(options, placement.machine, run, measured, profiles);
    return await finish(result, options);
  } finally {
    generator.terminate();
    // BENCH_KEEP_TMP=1 keeps the databases and profiles of the run for a closer look.
    if (Deno.env.get("BENCH_KEEP_TMP") === "1") console.log(`kept: ${tmp}`);
    else await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** Writes the result (and the docs), prints failures; the exit code. */
async function finish(result: BenchResult, options: Options): Promise<number> {
  await writeResult(result, options);
  for (const failure of result.failures) console.error(`FAILED ${failure}`);
  const failed = result.failures.length;
  log(`done in ${result.durationS} s${failed === 0 ? "" : `, ${failed} FAILURES`}`);
  return failed === 0 ? 0 : 1;
}

async function writeResult(result: BenchResult, options: Options): Promise<void> {
  const dir = join(REPO_ROOT, "bench", "results");
  await Deno.mkdir(dir, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, "-");
  const path = options.out ?? join(dir, `${result.mode === "quick" ? "quick-" : ""}${stamp}.json`);
  const text = `${JSON.stringify(result, null, 2)}\n`;
  await Deno.writeTextFile(path, text);
  log(`results: ${path}`);
  if (options.docs) {
    await Deno.writeTextFile(join(dir, "latest.json"), text);
    const written = await writeReport(result, join(REPO_ROOT, "docs"));
    log(`docs: ${written.join(", ")}`);
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(error instanceof Error ? error.stack : String(error));
    Deno.exit(1);
  }
}
