/**
 * A throwaway redis-server of the test's own, for tests that stop or pause Redis: the shared
 * one at 127.0.0.1:6379 is never stopped.
 */
import { withTimeout } from "./wait.ts";

/** Whether `redis-server` can be run here. */
export async function redisServerInstalled(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("redis-server", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** A throwaway Redis server on `port`, without persistence. */
export class PrivateRedis implements AsyncDisposable {
  #child: Deno.ChildProcess | null = null;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#child = child;
    // Wait for its "Ready to accept connections" line, then let the rest of stdout drain.
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    await withTimeout(
      (async () => {
        while (!/Ready to accept connections/.test(seen)) {
          const { done, value } = await reader.read();
          if (done) throw new Error(`redis-server exited: ${seen}`);
          seen += value;
        }
      })(),
      "redis-server to start",
      10_000,
    );
    (async () => {
      while (!(await reader.read()).done) { /* drain */ }
    })();
  }

  /** Stops the server (SIGSTOP) without closing its connections, as a hung host would. */
  pause(): void {
    this.#child?.kill("SIGSTOP");
  }

  /** Lets a paused server go on (SIGCONT). */
  resume(): void {
    this.#child?.kill("SIGCONT");
  }

  /** Kills the server at once, as a crash would. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.kill();
  }
}
