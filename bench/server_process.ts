/**
 * The server under test as a child process: the chat service (`main.ts`) or the floor relay
 * (`bench/floor_relay.ts`), pinned to its own core with `taskset` when it can be, found by its
 * `listening` log line, sampled for memory and CPU from `/proc`, and stopped with SIGTERM.
 */
import { fileURLToPath } from "node:url";
import { cpuMs, rssKiB } from "./system.ts";

/** The repository root, where `main.ts` lives. */
export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Which server runs. */
export type ServerKind = "service" | "floor";

/** How to start a server. */
export interface ServerOptions {
  readonly kind: ServerKind;
  /** The SQLite file of the service (ignored by the floor). */
  readonly dbPath: string;
  /** Cores for `taskset -c`, or `null` to run unpinned. */
  readonly cores: string | null;
  /** Write a V8 CPU profile (`--cpu-prof`) of the server into this folder when it exits. */
  readonly profileDir?: string;
  /** The service's entry point, relative to the repository root (`main.ts` by default). */
  /** Extra settings for the service (e.g. `SQLITE_SYNCHRONOUS`). */
  readonly serviceEnv?: Readonly<Record<string, string>>;
  /** Extra settings for the service, e.g. `{ WS_IDLE_TIMEOUT: "0" }`. */
  readonly env?: Readonly<Record<string, string>>;
}

const LISTENING = /^\S+ info listening address=(\S+) port=(\d+) database=(.+)$/;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 60_000;
/** Error lines kept for the report; the rest are counted. */
const KEPT_ERROR_LINES = 20;

/** A running server. */
export class ServerProcess {
  readonly kind: ServerKind;
  readonly pid: number;
  readonly port: number;
  readonly httpBase: string;
  readonly wsBase: string;
  readonly #child: Deno.ChildProcess;
  readonly #draining: Promise<void>;
  // Updated by the output readers.
  readonly #counts: { stdout: number; stderr: number };
  readonly #errors: string[];

  private constructor(
    kind: ServerKind,
    child: Deno.ChildProcess,
    port: number,
    output: {
      draining: Promise<void>;
      counts: { stdout: number; stderr: number };
      errors: string[];
    },
  ) {
    this.kind = kind;
    this.#child = child;
    this.pid = child.pid;
    this.port = port;
    this.httpBase = `http://127.0.0.1:${port}`;
    this.wsBase = `ws://127.0.0.1:${port}`;
    this.#draining = output.draining;
    this.#counts = output.counts;
    this.#errors = output.errors;
  }

  /** Starts a server and resolves once it listens. */
  static async start(options: ServerOptions): Promise<ServerProcess> {
    const child = spawnServer(options);
    const output = watchOutput(child, options.kind);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const port = await Promise.race([
        output.listening,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${options.kind} did not listen within ${START_TIMEOUT_MS} ms`)),
            START_TIMEOUT_MS,
          );
        }),
      ]);
      return new ServerProcess(options.kind, child, port, output);
    } catch (error) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The processes to count as this server's (one here; two for a cluster). */
  get pids(): readonly number[] {
    return [this.pid];
  }

  /** Log lines written so far. */
  get logLines(): { stdout: number; stderr: number } {
    return { ...this.#counts };
  }

  /** Error lines (stderr) kept so far. */
  get errors(): readonly string[] {
    return this.#errors;
  }

  /** Resident memory now, in KiB. */
  rssKiB(): number {
    return rssKiB(this.pid) ?? NaN;
  }

  /** CPU time used so far, in ms. */
  cpuMs(): number {
    return cpuMs(this.pid) ?? NaN;
  }

  /** Stops the server with SIGTERM (SIGKILL after a minute); resolves with its exit code. */
  async stop(): Promise<number> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already gone */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* already gone */ }
        resolve();
      }, STOP_TIMEOUT_MS);
    });
    const status = await Promise.race([this.#child.status, killed.then(() => this.#child.status)]);
    clearTimeout(timer);
    await this.#draining;
    return status.code;
  }
}

/** The settings every server of the benchmark runs with, then the options' own. */
function serverEnv(options: ServerOptions): Record<string, string> {
  return {
    PORT: "0",
    HOST: "127.0.0.1",
    DB_PATH: options.dbPath,
    TOKEN_TTL: "",
    MAX_MESSAGE_CHARS: "",
    MAX_FRAME_BYTES: "",
    // The floor keeps Deno's default (a ping after 120 s idle); the service the same, so that a
    // generator slowed by a busy machine is not closed by the service's tighter 30 s default.
    WS_IDLE_TIMEOUT: "120s",
    // A load test from one address measures capacity, not the abuse limits: lift them.
    MSG_RATE: "100000",
    MSG_BURST: "100000",
    AUTH_MAX_PER_IP: "1000000",
    AUTH_MAX_PER_USER: "1000000",
    MAX_CONNECTIONS: "1000000",
    MAX_CONNECTIONS_PER_IP: "1000000",
    // The daily quotas far above any run's volume, but on: their checks are part of the
    // cost. The waiting quota off: the backlog scenario stores 20,000 for one receiver, and
    // counting them at each save would measure the count (issue 12's cursors make it O(1)).
    QUOTA_DAILY_MESSAGES: "1000000000",
    QUOTA_DAILY_BYTES: "1099511627776",
    QUOTA_WAITING_MESSAGES: "0",
    NO_COLOR: "1",
    ...(options.kind === "service" ? options.serviceEnv : {}),
    ...options.env,
  };
}

/** Spawns the server's process, pinned with `taskset` when `options.cores` says where. */
function spawnServer(options: ServerOptions): Deno.ChildProcess {
  const denoArgs = ["run", "--quiet", "--allow-net", "--allow-env"];
  if (options.profileDir !== undefined) {
    denoArgs.push("--cpu-prof", `--cpu-prof-dir=${options.profileDir}`);
  }
  if (options.kind === "service") {
    denoArgs.push("--allow-read", "--allow-write", "main.ts");
  } else denoArgs.push("bench/floor_relay.ts");
  const [program, args] = options.cores === null
    ? [Deno.execPath(), denoArgs]
    : ["taskset", ["-c", options.cores, Deno.execPath(), ...denoArgs]];
  return new Deno.Command(program, {
    args,
    cwd: REPO_ROOT,
    env: serverEnv(options),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads the server's output: its port from the `listening` line, line counts, error lines. */
function watchOutput(child: Deno.ChildProcess, kind: ServerKind) {
  const listening = Promise.withResolvers<number>();
  const counts = { stdout: 0, stderr: 0 };
  const errors: string[] = [];
  const draining = Promise.all([
    readLines(child.stdout, (line) => {
      counts.stdout++;
      const match = LISTENING.exec(line);
      if (match !== null) listening.resolve(Number(match[2]));
    }),
    readLines(child.stderr, (line) => {
      counts.stderr++;
      if (errors.length < KEPT_ERROR_LINES) errors.push(line);
    }),
  ]).then(() => {
    listening.reject(new Error(`${kind} exited before listening: ${errors.join(" | ")}`));
  });
  return { listening: listening.promise, draining, counts, errors };
}

/** Calls `onLine` for every line of `stream` until it ends. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  // The cast bridges Deno's and the DOM's stream typings, both loaded by `deno task check`.
  const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
  for await (const chunk of stream.pipeThrough(decoder)) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  }
  if (rest !== "") onLine(rest);
}
