// The one interface a search strategy implements: given the results of the trials it may see,
// propose the next trial's settings. Strategies never touch the store or the scheduler, so they
// are tested on synthetic objectives alone.
import type { ChoiceValue, Distribution } from '../spec/search-space.ts';
import type { Rng } from './prng.ts';

export type Params = Record<string, ChoiceValue>;

/** A trial as a strategy sees it. */
export interface TrialResult {
  params: Params;
  /** Lower is better (the caller negates a metric to maximize); null: pruned, failed or over budget. */
  loss: number | null;
  /** A pruned trial: the rung where it stopped and its validation perplexity there (it ranks after every scored trial). */
  pruned?: { rung: number; value: number } | null;
}

/**
 * Best first: scored trials by loss, then pruned ones (a later rung before an earlier one, then
 * by their value there); failed trials are not ranked. With ASHA most trials end pruned, and a
 * strategy that ignored them would never leave its random start.
 */
export function rankedTrials(history: readonly TrialResult[]): TrialResult[] {
  return history
    .filter((t) => t.loss !== null || t.pruned)
    .sort((a, b) => {
      if (a.loss !== null && b.loss !== null) return a.loss - b.loss;
      if (a.loss !== null || b.loss !== null) return a.loss !== null ? -1 : 1;
      return b.pruned!.rung - a.pruned!.rung || a.pruned!.value - b.pruned!.value;
    });
}

export interface Proposal {
  params: Params;
  /** One line on how it was chosen (stored with the trial). */
  reason: string;
}

export interface Sampler {
  readonly name: string;
  propose(space: Readonly<Record<string, Distribution>>, history: readonly TrialResult[], rng: Rng): Proposal;
}

/** Four significant digits: readable run names, and the same value on every machine. */
export function roundValue(x: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(4));
}

/** A setting's value from a point of its internal space (log scale for log-uniform). */
export function fromInternal(d: Distribution, u: number): ChoiceValue {
  switch (d.kind) {
    case 'uniform':
      return roundValue(Math.min(d.high, Math.max(d.low, u)));
    case 'log-uniform':
      return roundValue(Math.min(d.high, Math.max(d.low, Math.exp(u))));
    case 'int': {
      const step = d.step ?? 1;
      const k = Math.round((u - d.low) / step);
      return Math.min(d.high, Math.max(d.low, d.low + k * step));
    }
    case 'choice':
      return d.values[Math.min(d.values.length - 1, Math.max(0, Math.floor(u)))]!;
  }
}

/** The internal-space bounds of a numeric distribution (int spans half a step beyond each end, so ends are as likely as the rest). */
export function internalBounds(d: Exclude<Distribution, { kind: 'choice' }>): [number, number] {
  if (d.kind === 'log-uniform') return [Math.log(d.low), Math.log(d.high)];
  if (d.kind === 'int') return [d.low - (d.step ?? 1) / 2, d.high + (d.step ?? 1) / 2];
  return [d.low, d.high];
}

export function toInternal(d: Exclude<Distribution, { kind: 'choice' }>, value: number): number {
  return d.kind === 'log-uniform' ? Math.log(value) : value;
}

/** One draw from the distribution's prior. */
export function drawPrior(d: Distribution, rng: Rng): ChoiceValue {
  if (d.kind === 'choice') return fromInternal(d, rng.next() * d.values.length);
  const [lo, hi] = internalBounds(d);
  return fromInternal(d, lo + rng.next() * (hi - lo));
}

/** Random search: every setting from its prior, independent of the history. */
export const randomSampler: Sampler = {
  name: 'random',
  propose(space, _history, rng) {
    const params: Params = {};
    for (const [key, d] of Object.entries(space)) params[key] = drawPrior(d, rng);
    return { params, reason: 'random draw from the priors' };
  },
};
