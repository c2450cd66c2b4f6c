// The low-rank layer: gradients by finite differences, the counter, the cost at a rank, init, pruning.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { LowRankLinear, type LowRankOptions } from '../harness/train/inrank/lowrank-linear.ts';
import { fp32, gaussian, useCpuBackend } from './inrank-fixtures.ts';
import type { Precision } from '../harness/train/model/linear.ts';

before(useCpuBackend);

function layer(over: Partial<LowRankOptions> = {}): LowRankLinear {
  return new LowRankLinear({
    inFeatures: 12,
    outFeatures: 10,
    maxRank: 5,
    initModes: 1,
    bufferModes: 2,
    determineRank: true,
    explainedRatio: 0.9,
    warmupIter: 10,
    gapIter: 5,
    microBatchesPerTick: 1,
    initScale: 1,
    seed: 7,
    ...over,
  });
}

/** L = sum(y * R) in float64, so dL/dy = R. */
function lossOf(l: LowRankLinear, x: tf.Tensor2D, R: Float32Array): number {
  const f = l.forward(x, false, fp32);
  const y = f.y.dataSync();
  f.dispose();
  f.y.dispose();
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i]! * R[i]!;
  return s;
}

test('forward / backward agree with finite differences; unused modes get zero gradient', () => {
  const l = layer({ seed: 3 });
  const p = new Map(l.params().map((q) => [q.name, q.variable]));
  tf.tidy(() => p.get('bias')!.assign(tf.tensor1d(gaussian(10, 4))));
  const tokens = 6;
  const x = tf.tensor2d(gaussian(tokens * 12, 5), [tokens, 12]);
  const R = gaussian(tokens * 10, 6);
  const f = l.forward(x, false, fp32);
  const grads = new Map<string, tf.Tensor>();
  const dx = f.backward(tf.tensor2d(R, [tokens, 10]), grads);
  assert.deepEqual(grads.get('A')!.shape, [5, 12]);
  assert.deepEqual(grads.get('B')!.shape, [10, 5]);
  assert.deepEqual(grads.get('bias')!.shape, [10]);
  assert.deepEqual(dx.shape, [tokens, 12]);

  // The loss is linear in each single entry, so a central difference is exact up to float32 rounding.
  const h = 0.05;
  const check = (name: string, v: tf.Variable, analytic: Float32Array | Int32Array | Uint8Array): void => {
    const base = v.dataSync().slice() as Float32Array;
    for (let i = 0; i < base.length; i++) {
      const bumped = base.slice();
      bumped[i] = base[i]! + h;
      v.assign(tf.tensor(bumped, v.shape));
      const up = lossOf(l, x, R);
      bumped[i] = base[i]! - h;
      v.assign(tf.tensor(bumped, v.shape));
      const down = lossOf(l, x, R);
      const fd = (up - down) / (2 * h);
      assert.ok(Math.abs(fd - analytic[i]!) <= 2e-3 * (1 + Math.abs(fd)), `${name}[${i}]: analytic ${analytic[i]} vs finite difference ${fd}`);
    }
    v.assign(tf.tensor(base, v.shape));
  };
  check('A', p.get('A')!, grads.get('A')!.dataSync() as Float32Array);
  check('B', p.get('B')!, grads.get('B')!.dataSync() as Float32Array);
  check('bias', p.get('bias')!, grads.get('bias')!.dataSync() as Float32Array);
  // k = initModes + buffer = 3 of 5: rows 3, 4 of dA and columns 3, 4 of dB are exactly zero.
  const gA = grads.get('A')!.arraySync() as number[][];
  const gB = grads.get('B')!.arraySync() as number[][];
  assert.ok(gA[3]!.every((v) => v === 0) && gA[4]!.every((v) => v === 0), 'unused rows of dA are zero');
  assert.ok(gA[2]!.some((v) => v !== 0), 'active rows of dA are not zero');
  assert.ok(gB.every((row) => row[3] === 0 && row[4] === 0 && row[2] !== 0), 'unused columns of dB are zero, active ones not');
  // dx against differences in x.
  const xs = x.dataSync().slice() as Float32Array;
  const dxs = dx.dataSync();
  for (let i = 0; i < xs.length; i += 5) {
    const up = xs.slice();
    up[i] = xs[i]! + h;
    const dn = xs.slice();
    dn[i] = xs[i]! - h;
    const fd = (lossOf(l, tf.tensor2d(up, [tokens, 12]), R) - lossOf(l, tf.tensor2d(dn, [tokens, 12]), R)) / (2 * h);
    assert.ok(Math.abs(fd - dxs[i]!) <= 2e-3 * (1 + Math.abs(fd)), `dx[${i}]: ${dxs[i]} vs ${fd}`);
  }
  // A second backward into the same map accumulates.
  const f2 = l.forward(x, false, fp32);
  const before2 = grads.get('bias')!.dataSync().slice();
  f2.backward(tf.tensor2d(R, [tokens, 10]), grads);
  const after2 = grads.get('bias')!.dataSync();
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(after2[i]! - 2 * before2[i]!) < 1e-4, `accumulated bias grad ${after2[i]} vs 2 x ${before2[i]}`);
  l.dispose();
});

test('precision.half is applied to the matmul inputs and outputs', () => {
  // A coarse rounding (to multiples of 1/8) stands in for half precision: the layer's
  // output must equal the rounded computation done by hand.
  const q = (t: tf.Tensor): tf.Tensor => tf.mul(tf.round(tf.mul(t, 8)), 1 / 8);
  const coarse: Precision = { half: <T extends tf.Tensor>(t: T): T => q(t) as T };
  const l = layer({ seed: 11, initScale: 4 });
  const x = tf.tensor2d(gaussian(4 * 12, 12), [4, 12]);
  const y = l.forward(x, false, coarse).y.arraySync();
  const p = new Map(l.params().map((v) => [v.name, v.variable]));
  const want = tf.tidy(() => {
    const a = q(tf.slice(p.get('A')!, [0, 0], [3, 12])) as tf.Tensor2D;
    const b = q(tf.slice(p.get('B')!, [0, 0], [10, 3])) as tf.Tensor2D;
    const h = q(tf.matMul(q(x) as tf.Tensor2D, a, false, true)) as tf.Tensor2D;
    return q(tf.add(tf.matMul(h, b, false, true), q(p.get('bias')!))).arraySync() as number[][];
  });
  assert.deepEqual(y, want);
  assert.notDeepEqual(y, l.forward(x, false, fp32).y.arraySync());
  l.dispose();
});

test('counter: no determination until warmup, then every gapIter training forwards; eval does not count', () => {
  const l = layer({ warmupIter: 10, gapIter: 5 });
  const x = tf.ones([2, 12]) as tf.Tensor2D;
  const counters: number[] = [];
  for (let step = 1; step <= 40; step++) {
    l.forward(x, false, fp32).dispose(); // evaluation passes: never counted
    l.forward(x, true, fp32).dispose();
    for (const e of l.afterTrainingForward(step, 'h.0.mlp.fc1')) {
      assert.equal(e.type, 'rank');
      assert.equal(e.layer, 'h.0.mlp.fc1');
      assert.equal(e.step, step);
      assert.equal(e.maxRank, 5);
      assert.ok(e.singularValues.length >= 3 && e.singularValues[0]! >= e.singularValues[2]!, `descending top values of the active block: ${e.singularValues}`);
      counters.push(e.counter);
    }
  }
  assert.deepEqual(counters, [15, 20, 25, 30, 35, 40]); // counter > 10 and counter % 5 == 0
  assert.equal(l.getState().counter, 40);
  l.dispose();
});

test('counter: microBatchesPerTick groups micro-batches into one tick', () => {
  const l = layer({ warmupIter: 10, gapIter: 5, microBatchesPerTick: 3 });
  const x = tf.ones([2, 12]) as tf.Tensor2D;
  const at: number[] = [];
  for (let mb = 1; mb <= 60; mb++) {
    l.forward(x, true, fp32).dispose();
    if (l.afterTrainingForward(mb, 'fc').length) at.push(mb);
  }
  // Tick c starts at micro-batch 3 (c - 1) + 1: counters 15 and 20 at micro-batches 43 and 58.
  assert.deepEqual(at, [43, 58]);
  assert.deepEqual(l.getState(), { microBatches: 60, counter: 20, currentModes: l.currentModes, inFlight: null });
  l.dispose();
});

test('timing: the reference decides before the forward that reaches the count; after-forward is the option', () => {
  // A threshold no ratio reaches: every determination grows the rank to current + buffer - 1.
  for (const timing of ['before-forward', 'after-forward'] as const) {
    const l = layer({ warmupIter: 0, gapIter: 2, initModes: 1, bufferModes: 2, maxRank: 8, explainedRatio: 0.999999, timing });
    const x = tf.tensor2d(gaussian(3 * 12, 1), [3, 12]);
    const activeRowsOfGrad = (): number => {
      const f = l.forward(x, true, fp32);
      const g = new Map<string, tf.Tensor>();
      f.backward(tf.ones([3, 10]) as tf.Tensor2D, g);
      return (g.get('A')!.arraySync() as number[][]).filter((row) => row.some((v) => v !== 0)).length;
    };
    assert.equal(activeRowsOfGrad(), 3); // counter 1: no decision
    assert.equal(l.afterTrainingForward(1, 'fc').length, 0);
    const rows = activeRowsOfGrad(); // counter 2: a determination is due
    assert.equal(l.currentModes, timing === 'before-forward' ? 2 : 1);
    assert.equal(rows, timing === 'before-forward' ? 4 : 3);
    assert.equal(l.afterTrainingForward(2, 'fc').length, 1);
    assert.equal(l.currentModes, 2);
    l.dispose();
  }
});

test('cost falls with the rank: params, MACs and measured time', () => {
  const n = 256;
  const m = 512;
  const small = layer({ inFeatures: n, outFeatures: m, maxRank: 128, initModes: 4, bufferModes: 4, determineRank: false });
  const big = layer({ inFeatures: n, outFeatures: m, maxRank: 128, initModes: 124, bufferModes: 4, determineRank: false });
  assert.equal(small.macsPerToken(), 8 * (n + m));
  assert.equal(big.macsPerToken(), 128 * (n + m));
  assert.equal(small.effectiveParamCount(), 8 * n + m * 8 + m);
  assert.deepEqual(small.rank(), { current: 4, max: 128 });
  const x = tf.tensor2d(gaussian(256 * n, 2), [256, n]);
  const dy = tf.tensor2d(gaussian(256 * m, 3), [256, m]);
  const time = (l: LowRankLinear): number => {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const f = l.forward(x, true, fp32);
      const g = new Map<string, tf.Tensor>();
      const dx = f.backward(dy, g);
      dx.dataSync();
      runs.push(performance.now() - t0);
      tf.dispose([dx, f.y, ...g.values()]);
    }
    return runs.sort((a, b) => a - b)[2]!;
  };
  time(small);
  const [ts, tb] = [time(small), time(big)];
  assert.ok(ts < 0.5 * tb, `rank 8 step ${ts.toFixed(1)} ms should be well under rank 128's ${tb.toFixed(1)} ms`);
  small.dispose();
  big.dispose();
});

test('init: Kaiming-uniform bounds from each factor\'s fan_in, times initScale; deterministic; zero bias', () => {
  const a = layer({ inFeatures: 64, outFeatures: 48, maxRank: 16, seed: 9, initScale: 0.5 });
  const b = layer({ inFeatures: 64, outFeatures: 48, maxRank: 16, seed: 9, initScale: 0.5 });
  const c = layer({ inFeatures: 64, outFeatures: 48, maxRank: 16, seed: 10, initScale: 0.5 });
  const [A, B, bias] = a.params().map((p) => p.variable.dataSync());
  const maxAbs = (v: ArrayLike<number>): number => Math.max(...Array.from(v, Math.abs));
  assert.ok(maxAbs(A!) <= 0.5 / Math.sqrt(64) && maxAbs(A!) > 0.45 / Math.sqrt(64), `A bound: ${maxAbs(A!)}`);
  assert.ok(maxAbs(B!) <= 0.5 / Math.sqrt(16) && maxAbs(B!) > 0.45 / Math.sqrt(16), `B bound: ${maxAbs(B!)}`);
  assert.ok(bias!.every((v) => v === 0), 'bias starts at zero');
  assert.deepEqual(A, b.params()[0]!.variable.dataSync());
  assert.notDeepEqual(A, c.params()[0]!.variable.dataSync());
  assert.deepEqual(a.params().map((p) => [p.name, p.decay]), [['A', true], ['B', true], ['bias', false]]);
  [a, b, c].forEach((l) => l.dispose());
});

test('pruned(): rank currentModes factors reproducing the layer output at that rank', () => {
  const l = layer({ inFeatures: 20, outFeatures: 16, maxRank: 8, initModes: 3, bufferModes: 2, determineRank: false, seed: 4 });
  const p = l.pruned();
  assert.equal(p.rank, 3);
  assert.deepEqual(p.A.shape, [3, 20]);
  assert.deepEqual(p.B.shape, [16, 3]);
  const fixed = layer({ inFeatures: 20, outFeatures: 16, maxRank: 3, initModes: 3, bufferModes: 0, determineRank: false, nominalMaxRank: 8 });
  const [vA, vB, vBias] = fixed.params().map((q) => q.variable);
  vA!.assign(p.A);
  vB!.assign(p.B);
  vBias!.assign(p.bias);
  assert.deepEqual(fixed.rank(), { current: 3, max: 8 });
  assert.equal(fixed.macsPerToken(), 3 * 36);
  // The pruned layer is the best rank-3 approximation of the rank-5 active block, so it
  // is closer to the original output than a rank-3 slice of the factors would be.
  const x = tf.tensor2d(gaussian(50 * 20, 8), [50, 20]);
  const y0 = l.forward(x, false, fp32).y;
  const y1 = fixed.forward(x, false, fp32).y;
  const sliceOnly = layer({ inFeatures: 20, outFeatures: 16, maxRank: 8, initModes: 3, bufferModes: 0, determineRank: false, seed: 4 });
  const y2 = sliceOnly.forward(x, false, fp32).y;
  const err = (u: tf.Tensor): number => tf.tidy(() => tf.norm(tf.sub(u, y0)).dataSync()[0]!);
  assert.ok(err(y1) < err(y2), `pruned error ${err(y1)} should beat slicing ${err(y2)}`);
  [l, fixed, sliceOnly].forEach((q) => q.dispose());
});

test('bad options are user errors', () => {
  assert.throws(() => layer({ initModes: 9 }), /initModes \(9\) exceeds maxRank \(5\)/);
  assert.throws(() => layer({ gapIter: 0 }), /gapIter must be an integer >= 1/);
});

test('getState / setState resume the counter and the rank exactly', () => {
  const x = tf.ones([2, 12]) as tf.Tensor2D;
  const run = (l: LowRankLinear, from: number, to: number): number[] => {
    const at: number[] = [];
    for (let mb = from; mb <= to; mb++) {
      l.forward(x, true, fp32).dispose();
      for (const e of l.afterTrainingForward(mb, 'fc')) at.push(e.counter);
    }
    return at;
  };
  const whole = layer({ warmupIter: 4, gapIter: 3, microBatchesPerTick: 2, explainedRatio: 0.999999, maxRank: 12, bufferModes: 2 });
  const all = run(whole, 1, 30);
  const first = layer({ warmupIter: 4, gapIter: 3, microBatchesPerTick: 2, explainedRatio: 0.999999, maxRank: 12, bufferModes: 2 });
  const head = run(first, 1, 13);
  const resumed = layer({ warmupIter: 4, gapIter: 3, microBatchesPerTick: 2, explainedRatio: 0.999999, maxRank: 12, bufferModes: 2 });
  resumed.setState(first.getState());
  const tail = run(resumed, 14, 30);
  assert.deepEqual([...head, ...tail], all);
  assert.deepEqual(resumed.getState(), whole.getState());
  assert.throws(() => resumed.setState({ microBatches: 1, counter: 1, currentModes: 13 }), /exceeds this layer's maxRank 12/);
  [whole, first, resumed].forEach((l) => l.dispose());
});

test('both transpose strategies give the same forward and gradients', async () => {
  const { setTransposeStrategy } = await import('../harness/train/inrank/matmul.ts');
  const x = tf.tensor2d(gaussian(7 * 12, 21), [7, 12]);
  const dy = tf.tensor2d(gaussian(7 * 10, 22), [7, 10]);
  const pass = (): number[][] => {
    const l = layer({ seed: 13 });
    const f = l.forward(x, true, fp32);
    const g = new Map<string, tf.Tensor>();
    const dx = f.backward(dy, g);
    const out = [f.y, dx, g.get('A')!, g.get('B')!, g.get('bias')!].map((t) => Array.from(t.dataSync()));
    l.dispose();
    return out;
  };
  try {
    setTransposeStrategy('explicit');
    const explicit = pass();
    setTransposeStrategy('flags');
    const flags = pass();
    explicit.forEach((arr, i) => arr.forEach((v, j) => assert.ok(Math.abs(v - flags[i]![j]!) <= 1e-5 * (1 + Math.abs(v)), `output ${i}[${j}]: ${v} vs ${flags[i]![j]}`)));
  } finally {
    setTransposeStrategy('auto');
  }
});
