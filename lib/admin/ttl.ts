/** The `ttl` of an admin-issued token: `90` (seconds), `90s`, `15m`, `24h`, `7d`, 1 s to 366 d. */

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_MS = 366 * UNIT_MS.d;

/** The lifetime in ms, or `null` when `value` is not a duration within bounds. */
export function parseTtl(value: unknown): number | null {
  if (typeof value !== "string") return null;
  const match = /^(\d{1,9})(s|m|h|d)?$/.exec(value.trim());
  if (match === null) return null;
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? "s"];
  return ms >= 1000 && ms <= MAX_MS ? ms : null;
}
