/**
 * Settings in the environment that the service does not know, so a misspelling (`MSG_RATES=5`)
 * is not silently ignored: a name with one of the service's prefixes (`MSG_`, `JWT_`, ...) that
 * is no setting, or a name one or two edits from a setting (`PROT`, `port`). Only names are
 * reported, never values (they may be secrets).
 */
import { DEFAULTS } from "./config.ts";

/** A name in the environment that is no setting, and the setting it may have meant. */
export interface UnknownSetting {
  readonly key: string;
  readonly didYouMean: string | null;
}

/** Names other programs read that share a prefix with a setting; never reported. */
const FOREIGN_NAMES: ReadonlySet<string> = new Set([
  "SQLITE_TMPDIR",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "ALL_PROXY",
  "NO_COLOR",
]);

function prefixOf(key: string): string | null {
  const end = key.indexOf("_");
  return end > 0 ? key.slice(0, end + 1) : null;
}

/** Edits (insert, delete, replace, swap two neighbours) from `a` to `b`, stopping past `limit`. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2][j - 2] + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length][b.length];
}

/** The setting `key` is closest to, when close enough for a typo: one edit up to 5 letters, else two. */
function closestSetting(key: string, known: readonly string[]): string | null {
  const upper = key.toUpperCase();
  const limit = upper.length <= 5 ? 1 : 2;
  let best: { key: string; distance: number } | null = null;
  for (const setting of known) {
    const distance = editDistance(upper, setting, limit);
    if (distance <= limit && (best === null || distance < best.distance)) {
      best = { key: setting, distance };
    }
  }
  return best?.key ?? null;
}

/** The names in `env` that look meant for the service but are no setting, in name order. */
export function unknownSettings(
  env: Readonly<Record<string, string | undefined>>,
  known: readonly string[] = Object.keys(DEFAULTS),
): UnknownSetting[] {
  const knownSet = new Set(known);
  const prefixes = new Set(known.map(prefixOf).filter((prefix) => prefix !== null));
  const found: UnknownSetting[] = [];
  for (const key of Object.keys(env).sort()) {
    if (knownSet.has(key) || FOREIGN_NAMES.has(key)) continue;
    const didYouMean = closestSetting(key, known);
    const prefix = prefixOf(key);
    if (didYouMean !== null || (prefix !== null && prefixes.has(prefix))) {
      found.push({ key, didYouMean });
    }
  }
  return found;
}
