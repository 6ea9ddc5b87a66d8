/**
 * Runs the real program (`main.ts`, or a `deno task`) as a child process and reads its output
 * line by line, so tests can wait for a log line instead of sleeping.
 */
import { fileURLToPath } from "node:url";
import { DEFAULTS } from "../../lib/config.ts";
import { withTimeout } from "./ws_client.ts";

/** The repository root, where `main.ts` and `deno.json` live. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The permissions the README's `deno task start` grants, followed by `main.ts`. */
export const RUN_MAIN = [
  "run",
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "main.ts",
] as const;

/** How long a test waits for the process to start listening or to exit. */
export const PROCESS_WAIT_MS = 15_000;

/** Matches the `listening` log line: `<ISO time> info listening address=.. port=.. database=..`. */
const LISTENING = /^\S+ info listening address=(\S+) port=(\d+) database=(.+)$/;

/** Options of a child process. */
export interface SpawnOptions {
  /** Arguments after `deno`; defaults to `RUN_MAIN` followed by `args`. */
  readonly denoArgs?: readonly string[];
  /** Arguments after `main.ts` (ignored when `denoArgs` is given). */
  readonly args?: readonly string[];
  /** Settings; every setting not given here is set to "" (its default) so the caller's own
   * environment cannot leak in. PORT defaults to 0 and HOST to 127.0.0.1. */
  readonly env?: Readonly<Record<string, string>>;
  /** Text written to stdin, which is then closed; without it stdin is null. */
  readonly stdin?: string;
  /** Working folder; the repository root by default. */
  readonly cwd?: string;
  /** Start from an empty environment holding only `env` (no blank settings, no PORT/HOST). */
  readonly clearEnv?: boolean;
  /** Start in a process group of its own (through `setsid`), so `signalGroup` reaches every
   * process in it, as Ctrl-C in a terminal or systemd's default kill mode do. */
  readonly ownProcessGroup?: boolean;
  /**
   * A shell line that ends in the command to run deno with, e.g.
   * `ulimit -n 64 && exec sh tools/start.sh`: run by `sh -c`, the deno command line follows it.
   */
  readonly shellPrefix?: string;
}

/** What the `listening` line says. */
export interface Listening {
  readonly address: string;
  readonly port: number;
  readonly database: string;
  readonly baseUrl: string;
  readonly wsUrl: string;
}

/** A child `deno` process whose stdout and stderr are collected as lines. */
export class ChildDeno implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  /** Lines of stdout so far. */
  readonly stdout: string[] = [];
  /** Lines of stderr so far. */
  readonly stderr: string[] = [];
  /** Resolves with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  #exited = false;
  #drained = false;
  #readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  #reading: Promise<void>;
  #stdinWritten: Promise<void>;
  #waiters: (() => void)[] = [];
  readonly #ownProcessGroup: boolean;

  constructor(options: SpawnOptions = {}) {
    const settings: Record<string, string> = {};
    for (const key of Object.keys(DEFAULTS)) settings[key] = "";
    this.#ownProcessGroup = options.ownProcessGroup ?? false;
    const denoArgs = [...(options.denoArgs ?? [...RUN_MAIN, ...(options.args ?? [])])];
    let program = Deno.execPath();
    let args = denoArgs;
    const shell = options.shellPrefix;
    if (shell !== undefined) {
      args = ["-c", `${shell} "$0" "$@"`, program, ...args];
      program = "sh";
    }
    // `setsid` execs in place (the child is not a group leader), so the group id is the pid.
    if (this.#ownProcessGroup) [program, args] = ["setsid", [program, ...args]];
    const command = new Deno.Command(program, {
      args,
      cwd: options.cwd ?? REPO_ROOT,
      clearEnv: options.clearEnv ?? false,
      env: options.clearEnv ? { NO_COLOR: "1", ...options.env } : {
        ...settings,
        PORT: "0",
        HOST: "127.0.0.1",
        NO_COLOR: "1",
        ...options.env,
      },
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    });
    this.child = command.spawn();
    this.status = this.child.status.then((status) => {
      this.#exited = true;
      return status;
    });
    this.#stdinWritten = options.stdin === undefined
      ? Promise.resolve()
      : writeAndClose(this.child.stdin, options.stdin);
    this.#reading = Promise.all([
      this.#readLines(this.child.stdout, this.stdout),
      this.#readLines(this.child.stderr, this.stderr),
    ]).then(() => {
      this.#drained = true;
      this.#wake();
    });
  }

  /** Every line of stdout and stderr, stdout first. */
  get output(): string {
    return [...this.stdout, ...this.stderr].join("\n");
  }

  /** Resolves with the first line (stdout or stderr) matching `pattern`, waiting for it. */
  waitForLine(pattern: RegExp, label: string, ms = PROCESS_WAIT_MS): Promise<RegExpExecArray> {
    const search = async () => {
      for (;;) {
        for (const line of [...this.stdout, ...this.stderr]) {
          const match = pattern.exec(line);
          if (match !== null) return match;
        }
        if (this.#drained) {
          throw new Error(`${label}: the process ended without it`);
        }
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    };
    return withTimeout(search(), label, ms).catch((error) => {
      throw new Error(`${error.message}\noutput so far:\n${this.output}`);
    });
  }

  /** Waits for the `listening` line and returns where the service listens. */
  async listening(): Promise<Listening> {
    const match = await this.waitForLine(LISTENING, "the listening line");
    const [, address, port, database] = match;
    return {
      address,
      port: Number(port),
      database,
      baseUrl: `http://${address}:${port}`,
      wsUrl: `ws://${address}:${port}`,
    };
  }

  /** Waits for the process to exit and its output to be read to the end. */
  async finished(ms = PROCESS_WAIT_MS): Promise<Deno.CommandStatus> {
    const status = await withTimeout(this.status, "the process to exit", ms);
    await withTimeout(this.#reading, "the output to end", ms);
    await this.#stdinWritten;
    return status;
  }

  /** Sends `signal` and waits for the process to exit. */
  stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    this.child.kill(signal);
    return this.finished();
  }

  /** Sends `signal` to every process of the group (needs `ownProcessGroup`). */
  signalGroup(signal: Deno.Signal): void {
    if (!this.#ownProcessGroup) throw new TypeError("signalGroup needs ownProcessGroup: true");
    Deno.kill(-this.child.pid, signal);
  }

  /** Whatever happened, leaves no process, pipe or pending read behind. */
  async [Symbol.asyncDispose](): Promise<void> {
    // SIGTERM first: a `deno task` forwards it, where SIGKILL would orphan its child.
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      if (this.#exited) break;
      try {
        if (this.#ownProcessGroup) this.signalGroup(signal);
        else this.child.kill(signal);
      } catch {
        // Exited in the meantime.
      }
      await withTimeout(this.status, `exit after ${signal}`).catch(() => {});
    }
    await this.status;
    // A grandchild that outlived its parent may still hold the pipes open.
    await withTimeout(this.#reading, "the output to end").catch(() =>
      Promise.all(this.#readers.map((reader) => reader.cancel().catch(() => {})))
    );
    await this.#reading;
    await this.#stdinWritten;
  }

  async #readLines(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
    const reader = stream.getReader();
    this.#readers.push(reader);
    const decoder = new TextDecoder();
    let rest = "";
    const push = (text: string) => {
      rest += text;
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) lines.push(line.replace(/\r$/, ""));
      if (parts.length > 0) this.#wake();
    };
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        push(decoder.decode(value, { stream: true }));
      }
    } finally {
      push(decoder.decode());
      if (rest !== "") {
        lines.push(rest);
        this.#wake();
      }
      reader.releaseLock();
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Starts `deno` with `options`; dispose the result (`await using`) to clean up. */
export function spawnDeno(options: SpawnOptions = {}): ChildDeno {
  return new ChildDeno(options);
}

/** A temporary directory, removed on dispose. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "chat-main-test-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

async function writeAndClose(stdin: WritableStream<Uint8Array>, text: string): Promise<void> {
  const writer = stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
  } catch {
    // The process exited before reading its input; the test looks at its output.
    await writer.abort().catch(() => {});
  }
}
