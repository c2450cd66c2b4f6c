// "Did you mean": the nearest candidate by edit distance, for one-line user errors.

/** Levenshtein distance, case-insensitive (a researcher's typo is rarely about case). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[t.length]!;
}

/**
 * The candidate nearest to `input`. A candidate whose last dot segment equals the input's last
 * segment wins first ('explainedRatio' -> 'inrank.explainedRatio'), then the smallest distance.
 */
export function closest(input: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestScore = Infinity;
  const leaf = input.split('.').pop()!.toLowerCase();
  for (const candidate of candidates) {
    const sameLeaf = candidate.split('.').pop()!.toLowerCase() === leaf;
    const score = sameLeaf ? -1 : editDistance(input, candidate);
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  return best;
}

/** " (did you mean 'x'?)" or nothing. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const best = closest(input, candidates);
  return best ? ` (did you mean '${best}'?)` : '';
}
