// The InRank rank rule on a spectrum, as the paper's reference code applies it.
//
// Reference facts this file reproduces (and why they matter):
// - The spectrum the reference feeds the rule is torch.linalg.svdvals of the in x out
//   product, so it has min(in, out) entries, all but the first k (numerically) zero.
//   Padding with zeros changes mean and variance, so the caller pads (see padSpectrum).
// - ratio(i) = 1 - var(s with its first i entries set to 0) / var(s). torch.var is the
//   unbiased variance (divide by n - 1); both variances are over the same n entries,
//   so the n - 1 cancels and the biased variance would give the identical ratio.
// - The loop runs i = current, ..., min(current + buffer, maxRank - buffer) - 1 and
//   stops at the first ratio > threshold; otherwise the last i tried is kept. The
//   largest reachable rank is therefore maxRank - buffer - 1: at that value the loop
//   only ever tries i = current again, so the rank stays put.
// - Once current >= maxRank - buffer the reference skips the rule (its rank never moves).

export interface RankRuleInput {
  /** The rank the rule settled on so far (the reference's current_modes). */
  currentModes: number;
  bufferModes: number;
  maxRank: number;
  /** explained_ratio_threshold: a strict '>' comparison, as the reference. */
  threshold: number;
}

export interface RankDecision {
  /** The new current_modes (never below the input, never at or above maxRank - bufferModes unless it already was). */
  currentModes: number;
  /** The ratio at the chosen index (NaN when the spectrum has zero variance, as torch gives). */
  explainedRatio: number;
  /** The indices the loop evaluated, in order (empty when the rule was skipped). */
  tried: number[];
}

/** Unbiased variance, accumulated in float64 (two-pass for accuracy). */
function unbiasedVariance(values: ArrayLike<number>, zeroFirst: number): number {
  const n = values.length;
  if (n < 2) return NaN;
  let sum = 0;
  for (let j = zeroFirst; j < n; j++) sum += values[j]!;
  const mean = sum / n;
  let sq = 0;
  for (let j = 0; j < n; j++) {
    const d = (j < zeroFirst ? 0 : values[j]!) - mean;
    sq += d * d;
  }
  return sq / (n - 1);
}

/** 1 - var(s with its first i entries zeroed) / var(s): the share of the spectrum's variance the top i values explain. */
export function explainedRatio(s: ArrayLike<number>, i: number): number {
  return 1 - unbiasedVariance(s, i) / unbiasedVariance(s, 0);
}

/** The reference's spectrum length: singular values of the in x out product, zeros past the active k. */
export function padSpectrum(s: ArrayLike<number>, length: number): Float64Array {
  const out = new Float64Array(Math.max(length, s.length));
  for (let j = 0; j < s.length; j++) out[j] = s[j]!;
  return out;
}

/** The rank rule on a descending spectrum s. Pure: no state, no side effects. */
export function decideRank(s: ArrayLike<number>, input: RankRuleInput): RankDecision {
  const { currentModes, bufferModes, maxRank, threshold } = input;
  const cap = maxRank - bufferModes;
  // The reference only runs the rule below the cap; with no buffer its loop would be empty.
  if (currentModes >= cap || bufferModes <= 0) {
    return { currentModes, explainedRatio: explainedRatio(s, currentModes), tried: [] };
  }
  const end = Math.min(currentModes + bufferModes, cap);
  const tried: number[] = [];
  let index = currentModes;
  let ratio = NaN;
  for (let i = currentModes; i < end; i++) {
    index = i;
    ratio = explainedRatio(s, i);
    tried.push(i);
    if (ratio > threshold) break;
  }
  return { currentModes: index, explainedRatio: ratio, tried };
}
