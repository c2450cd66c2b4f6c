// Asynchronous successive halving (Li et al., 2020), in its early-stopping form (as Ray Tune's
// ASHA scheduler): rungs at minTokens x factor^k training tokens; when a trial reaches a rung
// its validation perplexity there is compared with the other trials' at the same rung, and it
// continues only when it is in the top 1/factor of them (at least the best one); otherwise it
// is pruned. Pure decision logic: which trials it is compared with is the caller's choice
// (the search compares a trial with the trials finished before it was proposed, so a decision
// never depends on timing).

export interface AshaSettings {
  /** Tokens of the first rung. */
  minTokens: number;
  /** Keep the top 1/reductionFactor at each rung. */
  reductionFactor: number;
  /** The full budget of a trial (no rung at or beyond it); null: unbounded. */
  maxTokens: number | null;
}

export interface AshaDecision {
  decision: 'continue' | 'prune';
  reason: string;
}

/** Rung boundaries in tokens, ascending: minTokens x factor^k below maxTokens (at most 64). */
export function rungsOf(s: AshaSettings): number[] {
  const rungs: number[] = [];
  for (let k = 0; k < 64; k++) {
    const t = Math.round(s.minTokens * s.reductionFactor ** k);
    if (s.maxTokens !== null && t >= s.maxTokens) break;
    rungs.push(t);
  }
  return rungs;
}

/** The highest rung at or below `tokens` (index into rungsOf), or -1 before the first. */
export function rungAt(rungs: readonly number[], tokens: number): number {
  let k = -1;
  while (k + 1 < rungs.length && rungs[k + 1]! <= tokens) k++;
  return k;
}

/** Defaults when a spec names only `asha`: the first rung at budget / factor^2 (so two rungs). */
export function defaultMinTokens(maxTokens: number, reductionFactor: number): number {
  return Math.max(1, Math.round(maxTokens / reductionFactor ** 2));
}

/** Optimizer steps at which validations must fall so that every rung has one: their gcd. */
export function evalEveryForRungs(rungs: readonly number[], tokensPerStep: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const steps = rungs.map((t) => Math.max(1, Math.ceil(t / tokensPerStep)));
  return steps.reduce((a, b) => gcd(a, b), steps[0] ?? 1);
}

const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4));

/**
 * Whether a trial at `value` (validation perplexity, lower is better) continues past a rung
 * where its peers recorded `peers`. With n values (its own included) the top max(1, floor(n / factor))
 * continue; ties go the trial's way.
 */
export function decideAtRung(rung: number, value: number, peers: readonly number[], reductionFactor: number): AshaDecision {
  const all = [...peers.filter(Number.isFinite), Number.isFinite(value) ? value : Infinity].sort((a, b) => a - b);
  const keep = Math.max(1, Math.floor(all.length / reductionFactor));
  const cutoff = all[keep - 1]!;
  const rank = 1 + peers.filter((p) => p < value).length;
  const where = `valid ppl ${fmt(value)} at rung ${rung} ranks ${rank} of ${all.length}`;
  if (value <= cutoff) return { decision: 'continue', reason: `${where}; the top ${keep} continue` };
  return { decision: 'prune', reason: `${where}; only the top ${keep} continue (cutoff ${fmt(cutoff)})` };
}
