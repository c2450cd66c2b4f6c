// Rank determinations off the training thread (inrank.determinationLag > 0): the worker pool,
// when a lagged decision applies, checkpoints taken while one is in flight, and the config.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { LowRankLinear, type LowRankOptions } from '../harness/train/inrank/lowrank-linear.ts';
import { singularValuesFromGrams } from '../harness/train/inrank/gram-spectrum.ts';
import { SpectrumPool } from '../harness/train/inrank/spectrum-pool.ts';
import { factorGramArrays } from '../harness/train/inrank/spectrum.ts';
import { parseRunConfig, type RunConfigInput } from '../harness/contract/config.ts';
import { runIdOf } from '../harness/spec/run-id.ts';
import { fp32, gaussian, randomMatrix, useCpuBackend } from './inrank-fixtures.ts';

let pool: SpectrumPool;
before(async () => {
  await useCpuBackend();
  pool = await SpectrumPool.start(2);
  // The addon is built wherever the tests run (.ci/run), so the workers must have found LAPACK.
  assert.equal(pool.linalgPath, process.env.INRANK_NATIVE_LAPACK === '0' ? 'javascript' : 'lapack');
});
after(() => pool.close());

function layer(over: Partial<LowRankOptions> = {}): LowRankLinear {
  return new LowRankLinear({
    inFeatures: 12, outFeatures: 10, maxRank: 8, initModes: 1, bufferModes: 2, determineRank: true,
    // A threshold no ratio reaches: every determination grows the rank to current + buffer - 1.
    explainedRatio: 0.999999, warmupIter: 0, gapIter: 4, microBatchesPerTick: 1, initScale: 1, seed: 7,
    ...over,
  });
}

/** Trains nothing, only counts: one training forward per tick; returns [tick, currentModes after it, counters of the events it reported]. */
function ticks(l: LowRankLinear, from: number, to: number): [number, number, number[]][] {
  const x = tf.tensor2d(gaussian(3 * 12, 1), [3, 12]);
  const out: [number, number, number[]][] = [];
  for (let t = from; t <= to; t++) {
    l.forward(x, true, fp32).dispose();
    out.push([t, l.currentModes, l.afterTrainingForward(t, 'fc').map((e) => e.counter)]);
  }
  x.dispose();
  return out;
}

test('the pool returns exactly what the same float64 code gives inline, for many jobs at once', () => {
  const k = 24;
  const jobs = [0, 1, 2, 3, 4].map((seed) => {
    const a = tf.tensor2d(randomMatrix(k, 40, seed, 0.2), [k, 40]);
    const b = tf.tensor2d(randomMatrix(30, k, seed + 9, 0.3), [30, k]);
    const grams = factorGramArrays(a, b);
    tf.dispose([a, b]);
    return grams;
  });
  const want = jobs.map((g) => singularValuesFromGrams(g.gramA, g.gramB, k));
  const pending = jobs.map((g) => pool.submit(g.gramA.slice(), g.gramB.slice(), k));
  pending.forEach((p, i) => assert.deepEqual(p.wait(), want[i]));
  assert.deepEqual(pending[0]!.wait(), want[0], 'a second wait() returns the same answer');
});

test('an error inside a worker comes back to the waiting thread as an Error', () => {
  const bad = pool.submit(new Float64Array(4), new Float64Array(9), 2);
  assert.throws(() => bad.wait(), /spectrum worker failed: .*must be 2 x 2/);
  // The pool keeps working afterwards.
  const ok = pool.submit(Float64Array.of(4, 0, 0, 1), Float64Array.of(1, 0, 0, 1), 2);
  assert.deepEqual(Array.from(ok.wait()), [2, 1]);
});

test('lag L: the spectrum of the due tick applies at due + L, with the due tick as its event counter', () => {
  const inline = layer();
  const lagged = layer({ determinationLag: 2, spectrumPool: pool });
  const a = ticks(inline, 1, 13);
  const b = ticks(lagged, 1, 13);
  // Inline: due at 4, 8, 12; the rank steps 1 -> 2 -> 3 -> 4 at those ticks.
  assert.deepEqual(a.map(([, r]) => r), [1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4]);
  assert.deepEqual(a.filter(([, , c]) => c.length).map(([t, , c]) => [t, c]), [[4, [4]], [8, [8]], [12, [12]]]);
  // Lagged: measured at 4, 8, 12; applied (and reported) at 6, 10 (and 14, past the end).
  assert.deepEqual(b.map(([, r]) => r), [1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  assert.deepEqual(b.filter(([, , c]) => c.length).map(([t, , c]) => [t, c]), [[6, [4]], [10, [8]]]);
  assert.ok(lagged.getState().inFlight, 'the determination measured at tick 12 is still in flight');
  [inline, lagged].forEach((l) => l.dispose());
});

test('a checkpoint taken while a determination is in flight resumes to the same decisions', () => {
  const opts = { determinationLag: 3, gapIter: 5, spectrumPool: pool } as const;
  const whole = layer(opts);
  const all = ticks(whole, 1, 24);
  const first = layer(opts);
  ticks(first, 1, 11); // measured at 10, due to apply at 13
  const state = first.getState();
  assert.equal(state.inFlight?.counter, 10);
  assert.equal(state.inFlight?.applyAt, 13);
  const resumed = layer(opts);
  resumed.setState(JSON.parse(JSON.stringify(state))); // as a checkpoint header stores it
  const tail = ticks(resumed, 12, 24);
  assert.deepEqual(tail, all.slice(11));
  assert.deepEqual(resumed.getState(), whole.getState());
  // A state whose in-flight spectrum does not fit this layer is refused.
  const wrong = { ...state, inFlight: { ...state.inFlight!, singularValues: [1, 2] } };
  assert.throws(() => layer(opts).setState(wrong), /in-flight determination does not fit this layer/);
  [whole, first, resumed].forEach((l) => l.dispose());
});

test('config: the lag must stay below gapIter; lag 0 and the worker count leave run ids as they were', () => {
  const cfg = (inrank: RunConfigInput['inrank']): RunConfigInput => ({ method: 'inrank', inrank });
  assert.throws(() => parseRunConfig(cfg({ gapIter: 5, determinationLag: 5 })), /inrank.determinationLag \(5\) must be below inrank.gapIter \(5\)/);
  assert.throws(() => layer({ determinationLag: 4 }), /determinationLag \(4\) must be below gapIter \(4\)/);
  const id = (inrank: RunConfigInput['inrank']): string => runIdOf(parseRunConfig(cfg(inrank)));
  assert.equal(id({}), id({ determinationLag: 0, determinationWorkers: 7 }));
  assert.equal(id({ determinationLag: 2 }), id({ determinationLag: 2, determinationWorkers: 7 }));
  assert.notEqual(id({}), id({ determinationLag: 2 }));
  // An id as it was computed before the setting existed (the stored paper-table runs keep theirs).
  assert.equal(id({}), runIdOf({ ...parseRunConfig(cfg({})), inrank: legacyInrank() } as never));
});

/** The inrank block as configs had it before determinationLag / determinationWorkers. */
function legacyInrank(): Record<string, unknown> {
  const { determinationLag: _l, determinationWorkers: _w, ...rest } = parseRunConfig({ method: 'inrank' }).inrank;
  return rest;
}
