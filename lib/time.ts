/** Time helpers: an injectable clock and the seed's `send_time` format. */

/** Returns the current time in milliseconds since the epoch; injected so tests can move time. */
export type Clock = () => number;

/** The system clock. */
export const systemClock: Clock = () => Date.now();

// setTimeout's longest delay; a later moment is reached by arming again.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Calls `fire` once `clock` reaches `at` (ms), however far away: a moment past setTimeout's
 * longest delay re-arms on the way. `armed` gets each timer as it is set, so the caller can
 * clear the current one.
 */
export function callAt(
  clock: Clock,
  at: number,
  fire: () => void,
  armed: (timer: ReturnType<typeof setTimeout>) => void,
): void {
  const delay = at - clock();
  armed(setTimeout(() => {
    if (delay > MAX_TIMER_MS) callAt(clock, at, fire, armed);
    else fire();
  }, Math.max(0, Math.min(delay, MAX_TIMER_MS))));
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/**
 * `formatLocalTime` for a stream of moments that mostly fall in the same second (the messages
 * of one socket): formats once per second and hands back the same string in between.
 */
export class LocalTimeFormatter {
  #second = Number.NaN;
  #text = "";

  format(epochMs: number): string {
    const second = Math.floor(epochMs / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#text = formatLocalTime(epochMs);
    }
    return this.#text;
  }
}

/**
 * Formats a moment as `YYYY-MM-DD HH:MM:SS` in the process time zone (`TZ`),
 * the format of the seed's `send_time` and of a token's `expire`.
 */
export function formatLocalTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}
