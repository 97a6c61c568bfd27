/**
 * "Did you mean …?": the closest of a set of known words (commands, flags,
 * type ids, source and collection names) to one the operator mistyped.
 *
 * @module
 */

/**
 * Edit distance between `a` and `b`: insertions, deletions, substitutions,
 * and swaps of two neighbours (`Moveis` is one edit from `Movies`, the
 * commonest slip of a typing hand).
 */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        cur[j] = Math.min(cur[j], before[j - 2] + 1);
      }
    }
    before = prev;
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word` (case-insensitive, ties to the first in
 * order), or null when none is close: at most one edit per four characters
 * (at least one), or one starting with the other.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | null {
  const w = word.toLowerCase();
  let best: string | null = null;
  let bestScore = Infinity;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    const score = lc === w
      ? 0
      : lc.startsWith(w) || w.startsWith(lc)
      ? 0.5 + Math.abs(lc.length - w.length) / 100
      : editDistance(lc, w);
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  const limit = Math.max(1, Math.floor(w.length / 4));
  return best !== null && bestScore <= limit ? best : null;
}

/** `; did you mean 'X'?` for the closest candidate, or an empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closestMatch(word, candidates);
  return match === null ? "" : `; did you mean '${match}'?`;
}
