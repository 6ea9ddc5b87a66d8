/**
 * The run's users: registered and logged in over HTTP into a template database that every
 * service run starts from a copy of (the first ones timed with the server pinned), or, with
 * `--reuse-users`, copied from an earlier run's cache in `bench/results/cache/`.
 */
import { join } from "node:path";
import { REPO_ROOT, ServerProcess } from "./server_process.ts";
import { benchUserName, forEachBounded, login, register } from "./user_setup.ts";
import { pinProcess } from "./system.ts";
import { round } from "./stats.ts";
import { now } from "./worker_protocol.ts";
import type { SetupFigures } from "./results.ts";
import type { Sizes } from "./bench_options.ts";

const SETUP_CONCURRENCY = 8;

/** The users of a run: their tokens by index, and the set-up's figures. */
export interface RunUsers {
  readonly figures: SetupFigures;
  readonly tokens: string[];
}

/** How many users to set up, how many of them timed, and the cores to pin the server to. */
interface SetupPlan {
  readonly measured: number;
  readonly users: number;
  readonly serverCores: string | null;
  readonly allCores: string | null;
}

/**
 * Registers, then logs in, every user into `tokens`; the first `measured` of each timed with the
 * server on `serverCores`, the rest on every core. Resolves to the timed phases' durations.
 */
async function registerAndLogIn(
  server: ServerProcess,
  plan: SetupPlan,
  tokens: string[],
): Promise<{ registerMs: number; loginMs: number }> {
  const { measured, users, serverCores, allCores } = plan;
  const registerMs = await forEachBounded(
    0,
    measured,
    SETUP_CONCURRENCY,
    (i) => register(server.httpBase, benchUserName(i)),
  );
  // The rest is set-up, not a figure: let scrypt use every core.
  if (allCores !== null) await pinProcess(server.pid, allCores);
  await forEachBounded(
    measured,
    users,
    SETUP_CONCURRENCY,
    (i) => register(server.httpBase, benchUserName(i)),
  );
  if (serverCores !== null) await pinProcess(server.pid, serverCores);
  const loginMs = await forEachBounded(0, measured, SETUP_CONCURRENCY, async (i) => {
    tokens[i] = await login(server.httpBase, benchUserName(i));
  });
  if (allCores !== null) await pinProcess(server.pid, allCores);
  await forEachBounded(measured, users, SETUP_CONCURRENCY, async (i) => {
    tokens[i] = await login(server.httpBase, benchUserName(i));
  });
  return { registerMs, loginMs };
}

/** Registers and logs in every user; the first `setupMeasured` of each with the server pinned. */
export async function createUsers(
  templateDb: string,
  sizes: Sizes,
  serverCores: string | null,
  allCores: string | null,
): Promise<RunUsers> {
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
    ({ registerMs, loginMs } = await registerAndLogIn(
      server,
      { measured, users: sizes.users, serverCores, allCores },
      tokens,
    ));
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
export async function cachedUsers(
  templateDb: string,
  sizes: Sizes,
  serverCores: string | null,
  allCores: string | null,
  notes: string[],
): Promise<RunUsers> {
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
