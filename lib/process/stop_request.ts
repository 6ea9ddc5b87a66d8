/**
 * One stop request from the signals that reach the process. A signal sent to the whole process
 * group (Ctrl-C in a terminal, systemd's default kill mode, `timeout`) reaches the server twice:
 * directly, and forwarded by `deno task`. Signals within `SAME_REQUEST_MS` of the first are the
 * same request; a signal after that, while still stopping, means "exit now".
 */
import type { Clock } from "../time.ts";

/** How long after the first stop signal another one is taken as the same request. */
export const SAME_REQUEST_MS = 2_000;

/** What a received signal means: start stopping, nothing new, or exit at once. */
export type StopVerdict = "stop" | "same_request" | "force_exit";

/** Collects stop signals; `requested` resolves with the first. */
export class StopRequest {
  readonly #clock: Clock;
  readonly #sameRequestMs: number;
  readonly #requested = Promise.withResolvers<Deno.Signal>();
  #firstAt: number | null = null;

  constructor(clock: Clock, sameRequestMs: number = SAME_REQUEST_MS) {
    this.#clock = clock;
    this.#sameRequestMs = sameRequestMs;
  }

  /** Resolves with the signal that asked the service to stop. */
  get requested(): Promise<Deno.Signal> {
    return this.#requested.promise;
  }

  /** Records a signal and says what it means. */
  receive(signal: Deno.Signal): StopVerdict {
    const now = this.#clock();
    if (this.#firstAt === null) {
      this.#firstAt = now;
      this.#requested.resolve(signal);
      return "stop";
    }
    return now - this.#firstAt < this.#sameRequestMs ? "same_request" : "force_exit";
  }
}
