/**
 * The summary statistics every benchmark reports: this machine's speed
 * drifts by tens of percent within a minute, so figures are the median and
 * the min over interleaved rounds.
 *
 * @module
 */

/** The median of `xs` (the mean of the middle two for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The median and the min of `xs`. */
export function medianMin(xs: readonly number[]): { median: number; min: number } {
  return { median: median(xs), min: Math.min(...xs) };
}
