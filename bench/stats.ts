/** Percentiles and rounding for the benchmark's figures. */

/** Percentiles of a set of samples, in the samples' unit. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentiles of `samples` (sorted in place); zeros when there are none. */
export function percentiles(samples: Float64Array): Percentiles {
  const count = samples.length;
  if (count === 0) return { count, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  samples.sort();
  const rank = (p: number) => samples[Math.min(count - 1, Math.max(0, Math.ceil(p * count) - 1))];
  let sum = 0;
  for (const value of samples) sum += value;
  return {
    count,
    p50: round(rank(0.5), 3),
    p90: round(rank(0.9), 3),
    p99: round(rank(0.99), 3),
    max: round(samples[count - 1], 3),
    mean: round(sum / count, 3),
  };
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** `part / whole`, rounded to 3 decimals, or `null` when either is missing or `whole` is 0. */
export function ratio(
  part: number | null | undefined,
  whole: number | null | undefined,
): number | null {
  if (part === null || part === undefined || whole === null || whole === undefined) return null;
  if (!Number.isFinite(part) || !Number.isFinite(whole) || whole === 0) return null;
  return round(part / whole, 3);
}
