/**
 * The benchmark: `deno task bench` (full) or `deno task bench --quick` (every scenario at a
 * reduced size, under a minute). It pins itself (the load generator) and the server under test
 * to different cores, creates users over HTTP, runs every scenario against the service and the
 * floor relay, writes `bench/results/<time>.json` and, for a full run, `bench/results/latest.json`,
 * `docs/performance.md` and `docs/performance_chart.svg`.
 *
 * Options:
 *   --quick          reduced sizes, for smoke testing; writes no docs unless --docs
 *   --only=a,b       run only these scenario groups: pairs, sweep, idle, waiting, login
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
import type { ClientKind } from "./bench_socket.ts";
import { REPO_ROOT, type ServerKind, ServerProcess } from "./server_process.ts";
import {
  type BenchContext,
  idleScenario,
  loginScenario,
  pairsScenario,
  planPairs,
  waitingScenario,
} from "./scenarios.ts";
import { benchUserName, benchUsers, forEachBounded, login, register } from "./user_setup.ts";
import {
  hasTaskset,
  machineInfo,
  openFileLimits,
  pinProcess,
  raiseOpenFileLimit,
} from "./system.ts";
import { probeDisk } from "./disk_probe.ts";
import { summarizeProfileDir } from "./profile_summary.ts";
import { round } from "./stats.ts";
import { now } from "./worker_protocol.ts";
import type {
  BenchResult,
  ProfileEntry,
  ScenarioResult,
  SetupFigures,
  SweepPoint,
  ThroughputFigures,
} from "./results.ts";
import { writeReport } from "./report.ts";

/** The sizes of one mode. */
interface Sizes {
  /** Users created over HTTP for the run. */
  readonly users: number;
  /** Registrations and logins timed with the server pinned (the rest run unpinned). */
  readonly setupMeasured: number;
  /** The issue's pairs scenarios. */
  readonly pairs: readonly { pairs: number; messages: number }[];
  /** Further points of the sweep over pairs. */
  readonly sweep: readonly { pairs: number; messages: number }[];
  readonly idlePairs: number;
  readonly idleHoldMs: number;
  readonly waitingMessages: number;
  readonly loginUsers: number;
}

// 1,000 users: the 1,000-pair and 5,000-pair scenarios put each user in several pairs (rings),
// which halves the slow scrypt set-up; routing is by pair, so the server's work is the same.
const FULL: Sizes = {
  users: 1000,
  setupMeasured: 200,
  pairs: [{ pairs: 100, messages: 1000 }, { pairs: 1000, messages: 100 }],
  sweep: [{ pairs: 10, messages: 1000 }, { pairs: 50, messages: 1000 }, {
    pairs: 5000,
    messages: 10,
  }],
  idlePairs: 5000,
  idleHoldMs: 5000,
  waitingMessages: 10_000,
  loginUsers: 1000,
};

const QUICK: Sizes = {
  users: 100,
  setupMeasured: 100,
  pairs: [{ pairs: 10, messages: 200 }, { pairs: 50, messages: 20 }],
  sweep: [{ pairs: 5, messages: 200 }],
  idlePairs: 300,
  idleHoldMs: 1000,
  waitingMessages: 1000,
  loginUsers: 40,
};

/** The service's entry point per `--service` variant. */
/** Settings of each service variant: the shipped defaults, or `synchronous=NORMAL`. */
const SERVICE_SETTINGS = { main: {}, normal: { SQLITE_SYNCHRONOUS: "NORMAL" } } as const;

const GROUPS = ["pairs", "sweep", "idle", "waiting", "login"] as const;
const WINDOW = 32;
const MSG_CHARS = 64;
const SETUP_CONCURRENCY = 8;
const CONNECT_CONCURRENCY = 64;
const DISK_PROBE_COMMITS = 500;

interface Options {
  quick: boolean;
  only: Set<string>;
  workers: number;
  profile: boolean;
  docs: boolean;
  out: string | null;
  reuseUsers: boolean;
  client: ClientKind;
  servers: ServerKind[];
  serviceVariant: "main" | "normal";
  pairs: { pairs: number; messages: number }[] | null;
}

function parseOptions(args: readonly string[]): Options {
  const options: Options = {
    quick: false,
    only: new Set(GROUPS),
    workers: 2,
    profile: false,
    docs: true,
    out: null,
    reuseUsers: false,
    client: "raw",
    servers: ["floor", "service"],
    serviceVariant: "main",
    pairs: null,
  };
  let docs: boolean | null = null;
  for (const arg of args) {
    const [key, value] = arg.split("=", 2);
    if (key === "--quick") options.quick = true;
    else if (key === "--profile") options.profile = true;
    else if (key === "--reuse-users") options.reuseUsers = true;
    else if (key === "--docs") docs = true;
    else if (key === "--no-docs") docs = false;
    else if (key === "--workers" && Number(value) >= 1) options.workers = Number(value);
    else if (key === "--out" && value) options.out = value;
    else if (key === "--servers" && value) {
      options.servers = value.split(",").map((name) => {
        if (name !== "service" && name !== "floor") {
          throw new RangeError(`Unknown server "${name}"; expected service, floor`);
        }
        return name;
      });
    } else if (key === "--pairs" && value) {
      options.pairs = value.split(",").map((size) => {
        const match = /^(\d+)x(\d+)$/.exec(size);
        if (match === null) throw new RangeError(`Bad size "${size}"; expected PAIRSxMESSAGES`);
        return { pairs: Number(match[1]), messages: Number(match[2]) };
      });
    } else if (key === "--service" && (value === "main" || value === "normal")) {
      options.serviceVariant = value;
    } else if (key === "--client" && (value === "raw" || value === "websocket")) {
      options.client = value;
    } else if (key === "--only" && value) {
      options.only = new Set(value.split(","));
      for (const group of options.only) {
        if (!(GROUPS as readonly string[]).includes(group)) {
          throw new RangeError(`Unknown scenario group "${group}"; expected ${GROUPS.join(", ")}`);
        }
      }
    } else throw new RangeError(`Unknown option "${arg}"`);
  }
  options.docs = docs ??
    (!options.quick && options.only.size === GROUPS.length && options.servers.length === 2 &&
      options.pairs === null && options.serviceVariant === "main");
  return options;
}

function log(text: string): void {
  console.log(text);
}

async function main(): Promise<number> {
  const options = parseOptions(Deno.args);
  const base = options.quick ? QUICK : FULL;
  const sizes = options.pairs === null ? base : { ...base, pairs: options.pairs };
  const started = now();
  const startedAt = new Date().toISOString();
  const notes: string[] = [];
  const failures: string[] = [];

  // Pinning: the server on core 0, this process (the generator and its workers) on the rest.
  const cores = navigator.hardwareConcurrency;
  const canPin = cores >= 2 && (await hasTaskset());
  const serverCores = canPin ? "0" : null;
  const generatorCores = canPin ? (cores === 2 ? "1" : `1-${cores - 1}`) : "all";
  const allCores = `0-${cores - 1}`;
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

  const tmp = await Deno.makeTempDir({ prefix: "chat-bench-" });
  const machine = machineInfo(tmp, {
    pinned: canPin,
    serverCores: serverCores ?? "all",
    generatorCores,
  }, fileLimit);
  log(
    `chat benchmark (${
      options.quick ? "quick" : "full"
    }): ${machine.cpuModel}, ${machine.cores} cores, ` +
      `${machine.memoryGiB} GiB, Linux ${machine.kernel}, Deno ${machine.deno}; server on cores ` +
      `${machine.serverCores}, generator on ${machine.generatorCores}, ${options.workers} workers`,
  );
  const disk = probeDisk(tmp, DISK_PROBE_COMMITS);
  log(
    `disk: one SQLite commit costs ${disk.fullCommitUs} us with synchronous=FULL, ` +
      `${disk.normalCommitUs} us with NORMAL, ${disk.fullGroupRowUs} us a row with FULL and ` +
      `${disk.groupRows} rows a commit (${machine.databaseFilesystem})`,
  );

  const generator = new LoadGenerator(options.workers, options.client);
  try {
    // --- users, over HTTP, into a template database every service run starts from ---
    const templateDb = join(tmp, "template.db");
    const setup = options.reuseUsers
      ? await cachedUsers(templateDb, sizes, serverCores, canPin ? allCores : null, notes)
      : await createUsers(templateDb, sizes, serverCores, canPin ? allCores : null);
    const users = benchUsers(setup.tokens);
    log(
      `setup: ${setup.figures.users} users in ${round(setup.figures.totalMs / 1000)} s; pinned ` +
        `rates: ${setup.figures.registerPerSec} registrations/s, ${setup.figures.loginPerSec} logins/s`,
    );

    let serverRuns = 0;
    const profileDirs = new Map<string, string>();
    const context: BenchContext = {
      generator,
      users,
      window: WINDOW,
      msgChars: MSG_CHARS,
      connectConcurrency: CONNECT_CONCURRENCY,
      servers: options.servers,
      quietWaitMs: options.quick ? 2000 : 10_000,
      log,
      async start(kind: ServerKind, scenario: string) {
        const run = ++serverRuns;
        const dbPath = join(tmp, `${run}-${scenario}.db`);
        if (kind === "service") await Deno.copyFile(templateDb, dbPath);
        let profileDir: string | undefined;
        if (options.profile && kind === "service") {
          profileDir = join(tmp, "profiles", `${run}-${scenario}`);
          await Deno.mkdir(profileDir, { recursive: true });
          profileDirs.set(scenario, profileDir);
        }
        return await ServerProcess.start({
          kind,
          dbPath,
          cores: serverCores,
          profileDir,
          serviceEnv: SERVICE_SETTINGS[options.serviceVariant],
        });
      },
    };

    // --- scenarios ---
    const throughput: ScenarioResult<ThroughputFigures>[] = [];
    const sweep: SweepPoint[] = [];
    const runPairs = async (pairs: number, messages: number, prefix: string) => {
      const id = `${prefix}_${pairs}x${messages}`;
      log(`${id}: ${pairs} pairs x ${messages} messages per client, window ${WINDOW}`);
      const result = await pairsScenario(
        context,
        id,
        `${pairs} pairs x ${messages} messages per client`,
        pairs,
        messages,
      );
      throughput.push(result);
      sweep.push({ pairs, messagesPerClient: messages, scenario: id });
    };
    if (options.only.has("pairs")) {
      for (const { pairs, messages } of sizes.pairs) await runPairs(pairs, messages, "pairs");
    }
    if (options.only.has("sweep")) {
      for (const { pairs, messages } of sizes.sweep) {
        planPairs(users.length, pairs); // Fails early when there are not enough users.
        await runPairs(pairs, messages, "sweep");
      }
    }
    sweep.sort((a, b) => a.pairs - b.pairs);

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
    let loginResult = null;
    if (options.only.has("login")) {
      log(`login: ${sizes.loginUsers} users logging in and connecting at once`);
      loginResult = await loginScenario(context, sizes.loginUsers);
    }

    for (const scenario of [...throughput, idle, waiting, loginResult]) {
      if (scenario !== null) failures.push(...scenario.failures.map((f) => `${scenario.id}: ${f}`));
    }
    const profiles: Record<string, ProfileEntry[]> = {};
    for (const [scenario, dir] of profileDirs) {
      const summary = summarizeProfileDir(dir, 25);
      if (summary !== null) profiles[scenario] = summary;
      else notes.push(`No CPU profile was written for ${scenario}.`);
    }

    const result: BenchResult = {
      version: 1,
      mode: options.quick ? "quick" : "full",
      startedAt,
      durationS: round((now() - started) / 1000),
      machine,
      settings: {
        workers: options.workers,
        client: options.client,
        service: options.serviceVariant === "main"
          ? "main.ts"
          : "main.ts with SQLITE_SYNCHRONOUS=NORMAL",
        window: WINDOW,
        msgChars: MSG_CHARS,
        profile: options.profile,
      },
      disk,
      setup: setup.figures,
      throughput,
      sweep,
      idle,
      waiting,
      login: loginResult,
      profiles,
      ok: failures.length === 0,
      failures,
      notes,
    };
    await writeResult(result, options);
    for (const failure of failures) console.error(`FAILED ${failure}`);
    log(
      `done in ${result.durationS} s${
        failures.length === 0 ? "" : `, ${failures.length} FAILURES`
      }`,
    );
    return failures.length === 0 ? 0 : 1;
  } finally {
    generator.terminate();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** Registers and logs in every user; the first `setupMeasured` of each with the server pinned. */
async function createUsers(
  templateDb: string,
  sizes: Sizes,
  serverCores: string | null,
  allCores: string | null,
): Promise<{ figures: SetupFigures; tokens: string[] }> {
  const started = now();
  const server = await ServerProcess.start({
    kind: "service",
    dbPath: templateDb,
    cores: serverCores,
  });
  const measured = Math.min(sizes.setupMeasured, sizes.users);
  const tokens: string[] = new Array(sizes.users);
  let registerMs = 0;
  let loginMs = 0;
  let failure: unknown = null;
  try {
    registerMs = await forEachBounded(
      0,
      measured,
      SETUP_CONCURRENCY,
      (i) => register(server.httpBase, benchUserName(i)),
    );
    // The rest is set-up, not a figure: let scrypt use every core.
    if (allCores !== null) await pinProcess(server.pid, allCores);
    await forEachBounded(
      measured,
      sizes.users,
      SETUP_CONCURRENCY,
      (i) => register(server.httpBase, benchUserName(i)),
    );
    if (serverCores !== null) await pinProcess(server.pid, serverCores);
    loginMs = await forEachBounded(0, measured, SETUP_CONCURRENCY, async (i) => {
      tokens[i] = await login(server.httpBase, benchUserName(i));
    });
    if (allCores !== null) await pinProcess(server.pid, allCores);
    await forEachBounded(measured, sizes.users, SETUP_CONCURRENCY, async (i) => {
      tokens[i] = await login(server.httpBase, benchUserName(i));
    });
  } catch (error) {
    failure = error;
  }
  // Stopping closes the database, so every service run can start from a copy of the file.
  const code = await server.stop();
  if (failure !== null) throw failure;
  if (code !== 0) {
    throw new Error(`The set-up server exited with code ${code}: ${server.errors[0]}`);
  }
  return {
    tokens,
    figures: {
      users: sizes.users,
      registerMeasured: measured,
      registerPerSec: round((measured / registerMs) * 1000),
      loginMeasured: measured,
      loginPerSec: round((measured / loginMs) * 1000),
      concurrency: SETUP_CONCURRENCY,
      totalMs: round(now() - started),
    },
  };
}

const CACHE_MAX_AGE_MS = 12 * 60 * 60 * 1000;

/** `createUsers`, or its copy from an earlier run with `--reuse-users` when fresh enough. */
async function cachedUsers(
  templateDb: string,
  sizes: Sizes,
  serverCores: string | null,
  allCores: string | null,
  notes: string[],
): Promise<{ figures: SetupFigures; tokens: string[] }> {
  const dir = join(REPO_ROOT, "bench", "results", "cache");
  const base = join(dir, `users-${sizes.users}`);
  try {
    const cached = JSON.parse(await Deno.readTextFile(`${base}.json`)) as {
      createdAt: number;
      figures: SetupFigures;
      tokens: string[];
    };
    if (Date.now() - cached.createdAt < CACHE_MAX_AGE_MS) {
      await Deno.copyFile(`${base}.db`, templateDb);
      notes.push(
        `Users reused from ${new Date(cached.createdAt).toISOString()} (--reuse-users); the ` +
          "set-up figures are from then.",
      );
      return { figures: cached.figures, tokens: cached.tokens };
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const created = await createUsers(templateDb, sizes, serverCores, allCores);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.copyFile(templateDb, `${base}.db`);
  await Deno.writeTextFile(
    `${base}.json`,
    JSON.stringify({ createdAt: Date.now(), ...created }),
  );
  return created;
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
