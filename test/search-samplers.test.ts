// Search strategies on synthetic objectives: the random sampler is reproducible from its seed;
// TPE proposes from its history and concentrates near the good points.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rngFor } from '../harness/search/prng.ts';
import { randomSampler, rankedTrials, type Params, type Sampler, type TrialResult } from '../harness/search/sampler.ts';
import { fitParzen, parzenLogDensity, tpeSampler } from '../harness/search/tpe.ts';
import { choice, int, logUniform, uniform, type Distribution } from '../harness/spec/search-space.ts';

const space: Record<string, Distribution> = {
  'inrank.explainedRatio': uniform(0.5, 0.95),
  'train.lr': logUniform(1e-4, 1e-2),
  'inrank.bufferModes': int(2, 24, 2),
  method: choice('inrank', 'fixed'),
};

/** Sequential search: trial i sees every earlier trial. */
function runSearch(sampler: Sampler, seed: number, trials: number, objective: (p: Params) => number): TrialResult[] {
  const history: TrialResult[] = [];
  for (let i = 0; i < trials; i++) {
    const { params } = sampler.propose(space, history, rngFor(seed, i));
    history.push({ params, loss: objective(params) });
  }
  return history;
}

test('the random sampler: the same seed gives the same trials, another seed others; values stay in their ranges', () => {
  const draw = (seed: number) => Array.from({ length: 20 }, (_, i) => randomSampler.propose(space, [], rngFor(seed, i)).params);
  assert.deepEqual(draw(7), draw(7));
  assert.notDeepEqual(draw(7), draw(8));
  // Trial i does not depend on the trials drawn before it (a resumed search redraws trial 5 alone).
  assert.deepEqual(randomSampler.propose(space, [], rngFor(7, 5)).params, draw(7)[5]);
  for (const p of draw(3)) {
    const er = p['inrank.explainedRatio'] as number;
    const lr = p['train.lr'] as number;
    const buf = p['inrank.bufferModes'] as number;
    assert.ok(er >= 0.5 && er <= 0.95, `ratio ${er}`);
    assert.ok(lr >= 1e-4 && lr <= 1e-2, `lr ${lr}`);
    assert.ok(Number.isInteger(buf) && buf >= 2 && buf <= 24 && buf % 2 === 0, `buffer ${buf}`);
    assert.ok(p.method === 'inrank' || p.method === 'fixed');
  }
  // Log-uniform: about half the draws below the geometric middle 1e-3.
  const lrs = Array.from({ length: 400 }, (_, i) => randomSampler.propose(space, [], rngFor(1, i)).params['train.lr'] as number);
  const below = lrs.filter((x) => x < 1e-3).length / lrs.length;
  assert.ok(below > 0.4 && below < 0.6, `${below} of log-uniform draws below 1e-3`);
});

// Best at ratio 0.62, lr 2e-3 (log scale), buffer 10, method inrank.
const objective = (p: Params): number =>
  ((p['inrank.explainedRatio'] as number) - 0.62) ** 2 / 0.45 ** 2 +
  (Math.log10(p['train.lr'] as number) - Math.log10(2e-3)) ** 2 / 4 +
  ((p['inrank.bufferModes'] as number) - 10) ** 2 / 22 ** 2 +
  (p.method === 'inrank' ? 0 : 0.3);

test('TPE starts at random, then proposes from its history: later trials concentrate near the optimum', () => {
  const tpe = tpeSampler({ startupTrials: 8 });
  const seeds = [1, 2, 3, 4, 5];
  let tpeLate = 0;
  let randomLate = 0;
  let tpeNear = 0;
  let inrank = 0;
  for (const seed of seeds) {
    const t = runSearch(tpe, seed, 40, objective).slice(20);
    const r = runSearch(randomSampler, seed, 40, objective).slice(20);
    tpeLate += t.reduce((s, x) => s + x.loss!, 0) / t.length;
    randomLate += r.reduce((s, x) => s + x.loss!, 0) / r.length;
    tpeNear += t.filter((x) => Math.abs((x.params['inrank.explainedRatio'] as number) - 0.62) < 0.09).length / t.length;
    inrank += t.filter((x) => x.params.method === 'inrank').length / t.length;
  }
  const n = seeds.length;
  assert.ok(tpeLate / n < 0.5 * (randomLate / n), `TPE mean loss of trials 20-39 ${(tpeLate / n).toFixed(3)} vs random ${(randomLate / n).toFixed(3)}`);
  // A band of 0.18 around 0.62 is 40% of the range: random puts 40% of its draws there.
  assert.ok(tpeNear / n > 0.65, `${((100 * tpeNear) / n).toFixed(0)}% of TPE's late ratios near 0.62`);
  assert.ok(inrank / n > 0.7, `${((100 * inrank) / n).toFixed(0)}% of TPE's late trials chose the better method`);
});

test('TPE: the startup trials are random draws; the proposal depends only on the seed and the history', () => {
  const tpe = tpeSampler({ startupTrials: 3 });
  const history: TrialResult[] = [];
  for (let i = 0; i < 3; i++) {
    const p = tpe.propose(space, history, rngFor(9, i));
    assert.deepEqual(p.params, randomSampler.propose(space, [], rngFor(9, i)).params);
    assert.match(p.reason, /random start/);
    history.push({ params: p.params, loss: objective(p.params) });
  }
  const a = tpe.propose(space, history, rngFor(9, 3));
  assert.match(a.reason, /TPE from 3 trials \(1 good of 3 ranked\)/);
  assert.deepEqual(tpe.propose(space, history, rngFor(9, 3)), a, 'same seed and history: same proposal');
  // Failed trials (no loss, not pruned) are not ranked: they count as bad and do not end the start.
  const failed: TrialResult[] = history.map((t) => ({ ...t, loss: null }));
  assert.match(tpe.propose(space, failed, rngFor(9, 3)).reason, /random start \(0 of 3/);
  // Pruned trials are ranked by how far they got, so ASHA's many prunes still feed the model.
  const pruned: TrialResult[] = history.map((t, i) => ({ ...t, loss: null, pruned: { rung: 0, value: 300 + i } }));
  assert.match(tpe.propose(space, pruned, rngFor(9, 3)).reason, /TPE from 3 trials \(1 good of 3 ranked\)/);
});

test('ranking: scored trials by loss, then pruned ones, a later rung first, then by value; failed ones left out', () => {
  const p = (name: string): Params => ({ method: name });
  const ranked = rankedTrials([
    { params: p('pruned-r0-bad'), loss: null, pruned: { rung: 0, value: 320 } },
    { params: p('failed'), loss: null },
    { params: p('done-2'), loss: 2 },
    { params: p('pruned-r1'), loss: null, pruned: { rung: 1, value: 400 } },
    { params: p('done-1'), loss: 1 },
    { params: p('pruned-r0-good'), loss: null, pruned: { rung: 0, value: 300 } },
  ]);
  assert.deepEqual(ranked.map((t) => t.params.method), ['done-1', 'done-2', 'pruned-r1', 'pruned-r0-good', 'pruned-r0-bad']);
});

test('Parzen estimator: density is highest at the observations and integrates to about 1 on its range', () => {
  const p = fitParzen([0.2, 0.25, 0.8], 0, 1);
  assert.ok(parzenLogDensity(p, 0.22) > parzenLogDensity(p, 0.5));
  let integral = 0;
  for (let i = 0; i < 1000; i++) integral += Math.exp(parzenLogDensity(p, (i + 0.5) / 1000)) / 1000;
  assert.ok(Math.abs(integral - 1) < 0.02, `integral ${integral}`);
});
