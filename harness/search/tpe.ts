// Tree-structured Parzen Estimator (Bergstra et al., 2011), univariate as Optuna's default:
// split the finished trials into the best gamma fraction ("good") and the rest ("bad"; pruned
// trials rank after the scored ones, by how far they got; failed ones are bad), fit a Parzen density to each per setting, draw candidates from the
// good density and keep the one with the largest good/bad density ratio. Written here rather
// than taken from npm: it must draw from the search's seeded per-trial stream and read a plain
// history of stored trials, and the whole method is a page.
import type { Distribution } from '../spec/search-space.ts';
import type { Rng } from './prng.ts';
import { fromInternal, internalBounds, randomSampler, rankedTrials, toInternal, type Params, type Proposal, type Sampler, type TrialResult } from './sampler.ts';

export interface TpeOptions {
  /** Random trials (from the priors) before the model is used. */
  startupTrials: number;
  /** Fraction of finished trials that count as good (at least one). */
  gamma?: number;
  /** Candidates drawn from the good density per setting. */
  candidates?: number;
}

type Numeric = Exclude<Distribution, { kind: 'choice' }>;

interface Parzen {
  mus: number[];
  sigmas: number[];
  lo: number;
  hi: number;
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, error below 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * A Parzen estimator on [lo, hi]: one Gaussian per observation plus a broad prior in the middle;
 * each bandwidth is the larger gap to its neighbours, clipped to [range / min(100, n + 1), range].
 */
export function fitParzen(points: readonly number[], lo: number, hi: number): Parzen {
  const range = hi - lo;
  const mus = [...points, (lo + hi) / 2];
  const order = mus.map((m, i) => [m, i] as const).sort((a, b) => a[0] - b[0]);
  const sigmas = new Array<number>(mus.length).fill(range);
  const minSigma = range / Math.min(100, mus.length + 1);
  order.forEach(([m, i], k) => {
    if (i === mus.length - 1) return; // the prior keeps the whole range
    const left = k > 0 ? m - order[k - 1]![0] : m - lo;
    const right = k < order.length - 1 ? order[k + 1]![0] - m : hi - m;
    sigmas[i] = Math.min(range, Math.max(minSigma, left, right));
  });
  return { mus, sigmas, lo, hi };
}

export function parzenLogDensity(p: Parzen, x: number): number {
  let sum = 0;
  for (let k = 0; k < p.mus.length; k++) {
    const mu = p.mus[k]!;
    const s = p.sigmas[k]!;
    const mass = normalCdf((p.hi - mu) / s) - normalCdf((p.lo - mu) / s);
    const z = (x - mu) / s;
    sum += Math.exp(-0.5 * z * z) / (s * Math.sqrt(2 * Math.PI) * Math.max(mass, 1e-12));
  }
  return Math.log(sum / p.mus.length + 1e-300);
}

export function sampleParzen(p: Parzen, rng: Rng): number {
  const k = Math.min(p.mus.length - 1, Math.floor(rng.next() * p.mus.length));
  for (let attempt = 0; attempt < 64; attempt++) {
    const x = p.mus[k]! + p.sigmas[k]! * rng.normal();
    if (x >= p.lo && x <= p.hi) return x;
  }
  return p.lo + rng.next() * (p.hi - p.lo); // a component far outside the range: fall back to the prior
}

/** Categorical weights with one pseudo-count spread over the choices (so no choice is ever impossible). */
function categorical(indices: readonly number[], n: number): number[] {
  const w = new Array<number>(n).fill(1 / n);
  for (const i of indices) w[i]! += 1;
  const total = indices.length + 1;
  return w.map((x) => x / total);
}

function pickNumeric(d: Numeric, good: readonly number[], bad: readonly number[], rng: Rng, candidates: number): number {
  const [lo, hi] = internalBounds(d);
  const l = fitParzen(good.map((v) => toInternal(d, v)), lo, hi);
  const g = fitParzen(bad.map((v) => toInternal(d, v)), lo, hi);
  let best = NaN;
  let bestScore = -Infinity;
  for (let c = 0; c < candidates; c++) {
    const x = sampleParzen(l, rng);
    // Score where the value will land (an int rounds to its grid), so the ratio judges the value proposed.
    const landed = toInternal(d, fromInternal(d, x) as number);
    const score = parzenLogDensity(l, landed) - parzenLogDensity(g, landed);
    if (score > bestScore) [best, bestScore] = [landed, score];
  }
  return best;
}

function pickChoice(values: readonly unknown[], good: readonly unknown[], bad: readonly unknown[], rng: Rng, candidates: number): number {
  const index = (v: unknown) => values.findIndex((x) => x === v);
  const l = categorical(good.map(index).filter((i) => i >= 0), values.length);
  const g = categorical(bad.map(index).filter((i) => i >= 0), values.length);
  let best = 0;
  let bestScore = -Infinity;
  for (let c = 0; c < candidates; c++) {
    let u = rng.next();
    let i = 0;
    while (i < l.length - 1 && u >= l[i]!) u -= l[i++]!;
    const score = Math.log(l[i]!) - Math.log(g[i]!);
    if (score > bestScore) [best, bestScore] = [i, score];
  }
  return best;
}

export function tpeSampler(options: TpeOptions): Sampler {
  const gamma = options.gamma ?? 0.25;
  const candidates = options.candidates ?? 24;
  return {
    name: 'tpe',
    propose(space, history: readonly TrialResult[], rng: Rng): Proposal {
      const scored = rankedTrials(history);
      if (scored.length < Math.max(1, options.startupTrials)) {
        const { params } = randomSampler.propose(space, history, rng);
        return { params, reason: `random start (${scored.length} of ${options.startupTrials} ranked trials before TPE)` };
      }
      const nGood = Math.max(1, Math.ceil(gamma * scored.length));
      const good = scored.slice(0, nGood);
      const goodSet = new Set(good);
      const bad = history.filter((t) => !goodSet.has(t));
      const params: Params = {};
      for (const [key, d] of Object.entries(space)) {
        const gv = good.map((t) => t.params[key]);
        const bv = bad.map((t) => t.params[key]);
        if (d.kind === 'choice') params[key] = d.values[pickChoice(d.values, gv, bv, rng, candidates)]!;
        else params[key] = fromInternal(d, pickNumeric(d, gv as number[], bv as number[], rng, candidates));
      }
      return { params, reason: `TPE from ${history.length} trials (${nGood} good of ${scored.length} ranked)` };
    },
  };
}
