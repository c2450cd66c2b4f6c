// The native fused kernels (GELU, LayerNorm, AdamW; native/src/fused.cc) against the generic
// tfjs formulation of the same ops, forward and backward, on the wasm backend. Needs the addon
// built with them (`npm run install`) and OpenBLAS, like blas-kernels.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { NATIVE_MATMUL_ENV, disableNativeMatmul, enableNativeMatmul, loadBlasAddon } from '../harness/train/backend/blas.ts';
import { FUSED_KERNELS_ENV } from '../harness/train/backend/fused-kernels.ts';
import { gelu, geluExact } from '../harness/train/ops/gelu.ts';
import { layerNorm } from '../harness/train/ops/layernorm.ts';
import { crossEntropy } from '../harness/train/ops/cross-entropy.ts';
import { dropoutDraw, dropoutMask, dropoutSite } from '../harness/train/ops/dropout.ts';
import { causalSelfAttention } from '../harness/train/ops/attention.ts';
import { fp32, precisionOf } from '../harness/train/precision/index.ts';
import { AdamW } from '../harness/train/optim/adamw.ts';
import { FusedKernel, HeadKernel, hasFused, runFused } from '../harness/train/ops/fused.ts';
import { causalBlocks } from '../harness/train/backend/head-kernels.ts';
import { gaussian } from './inrank-fixtures.ts';
import { assertClose, scaled } from './kernel-compare.ts';

const saved = { matmul: process.env[NATIVE_MATMUL_ENV], fused: process.env[FUSED_KERNELS_ENV] };

before(async () => {
  delete process.env[NATIVE_MATMUL_ENV];
  delete process.env[FUSED_KERNELS_ENV];
  const addon = loadBlasAddon();
  if (!addon.loaded) throw new Error(`These tests need the OpenBLAS addon: ${addon.reason}`);
  assert.ok(await tf.setBackend('wasm'));
  await tf.ready();
});

after(() => {
  disableNativeMatmul();
  for (const [key, env] of [['matmul', NATIVE_MATMUL_ENV], ['fused', FUSED_KERNELS_ENV]] as const) {
    if (saved[key] !== undefined) process.env[env] = saved[key];
  }
});

/** Runs `compute` with the fused kernels (checking that `kernel` ran), then with the generic ones. */
async function bothPaths(kernel: string, compute: () => tf.Tensor[]): Promise<{ fused: Float32Array[]; generic: Float32Array[] }> {
  const read = (ts: tf.Tensor[]) => ts.map((t) => (t.dataSync() as Float32Array).slice());
  const status = enableNativeMatmul();
  assert.ok(hasFused(FusedKernel.gelu), `fused kernels not registered: ${status.reason}`);
  let fused: Float32Array[] = [];
  const info = await tf.profile(() => {
    fused = tf.tidy(() => read(compute()));
  });
  assert.ok(info.kernels.some((k) => k.name === kernel), `${kernel} did not run: ${info.kernels.map((k) => k.name).join(', ')}`);
  disableNativeMatmul();
  assert.ok(!hasFused(FusedKernel.gelu));
  const generic = tf.tidy(() => read(compute()));
  return { fused, generic };
}

test('fused GELU: forward and backward equal the generic formulation', async () => {
  const x = tf.tensor2d(scaled(37 * 53, 1, 3), [37, 53]); // reaches |x| ~ 10: both tails
  const dy = tf.tensor2d(gaussian(37 * 53, 2), [37, 53]);
  const { fused, generic } = await bothPaths(FusedKernel.geluSavedGrad, () => {
    const f = gelu(x);
    return [f.y, f.backward(dy)];
  });
  assertClose(fused, generic, 2e-6, 'gelu');
  // The pair that keeps the sigmoid gives the very numbers of the pair that recomputes it.
  enableNativeMatmul();
  const plain = tf.tidy(() => [runFused(FusedKernel.gelu, { x })[0]!, runFused(FusedKernel.geluGrad, { x, dy })[0]!]
    .map((t) => (t.dataSync() as Float32Array).slice()));
  disableNativeMatmul();
  plain.forEach((p, i) => assert.deepEqual(fused[i], p, `saved-sigmoid GELU output ${i}`));
  tf.dispose([x, dy]);
});

test('fused exact (erf) GELU: forward and backward equal the generic formulation; the negative tail stays accurate', async () => {
  const x = tf.tensor2d(scaled(41 * 47, 80, 4), [41, 47]); // reaches |x| ~ 15: Phi near 0 and near 1
  const dy = tf.tensor2d(gaussian(41 * 47, 81), [41, 47]);
  const { fused, generic } = await bothPaths(FusedKernel.geluExactGrad, () => {
    const f = geluExact(x);
    return [f.y, f.backward(dy)];
  });
  assertClose(fused, generic, 1e-6, 'gelu erf');
  // x Phi(x) far out on the left, where float32 erf(x / sqrt 2) + 1 is already 0 (Phi from tables).
  const tail = [[-12, 1.7764821120776e-33], [-9, 1.1285884059538e-19], [-5, 2.8665157187919e-7], [-3, 1.3498980316301e-3]];
  const xs = tf.tensor2d(tail.map(([v]) => v!), [1, tail.length]);
  const { fused: [y] } = await bothPaths(FusedKernel.geluExact, () => [geluExact(xs).y]);
  tail.forEach(([v, phi], i) => assert.ok(Math.abs(y![i]! - v! * phi!) <= 1e-5 * Math.abs(v! * phi!), `x ${v}: ${y![i]} vs ${v! * phi!}`));
  tf.dispose([x, dy, xs]);
});

test('fused LayerNorm: output, input gradient and weight / bias gradients equal the generic formulation', async () => {
  const rows = 29, cols = 67;
  const x = tf.tensor2d(scaled(rows * cols, 3, 2, 5), [rows, cols]); // a mean far from zero
  const w = tf.tensor1d(scaled(cols, 4, 0.5, 1));
  const b = tf.tensor1d(gaussian(cols, 5));
  const dy = tf.tensor2d(gaussian(rows * cols, 6), [rows, cols]);
  const { fused, generic } = await bothPaths(FusedKernel.layerNormGrad, () => {
    const grads = new Map<string, tf.Tensor>();
    const f = layerNorm(x, w, b, grads, { weight: 'w', bias: 'b' });
    const dx = f.backward(dy);
    return [f.y, dx, grads.get('w')!, grads.get('b')!];
  });
  assertClose(fused, generic, 2e-5, 'layerNorm');
  tf.dispose([x, w, b, dy]);
});

test('fused AdamW: parameters and moments after three steps (decay and no decay, clipping multiplier) equal the generic update', async () => {
  const run = (): tf.Tensor[] => {
    const a = tf.variable(tf.tensor2d(gaussian(13 * 7, 7), [13, 7]), true, 'a');
    const b = tf.variable(tf.tensor1d(gaussian(7, 8)), true, 'b');
    const params = [{ fullName: 'a', variable: a, decay: true }, { fullName: 'b', variable: b, decay: false }];
    const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    for (let s = 0; s < 3; s++) {
      const grads = new Map<string, tf.Tensor>([
        ['a', tf.tensor2d(gaussian(13 * 7, 10 + s), [13, 7])],
        ['b', tf.tensor1d(scaled(7, 20 + s, 1e-3))],
      ]);
      opt.step(grads, 1e-2, s === 1 ? 0.25 : 1);
      tf.dispose([...grads.values()]);
    }
    const out = [a, b, opt.m.get('a')!, opt.v.get('a')!, opt.m.get('b')!, opt.v.get('b')!].map((t) => t.clone());
    opt.dispose();
    tf.dispose([a, b]);
    return out;
  };
  const { fused, generic } = await bothPaths(FusedKernel.adamW, run);
  assertClose(fused, generic, 1e-6, 'adamW');
});

test('fused sum of squares: the global gradient norm over many tensors (odd sizes, an empty one) equals the generic sum', async () => {
  const shapes = [[13, 7], [7], [1], [0, 3], [257, 33], [4096]];
  const grads = new Map<string, tf.Tensor>(shapes.map((shape, i) => [`g${i}`, tf.tensor(scaled(shape.reduce((a, b) => a * b, 1), 30 + i, 1 + i), shape)]));
  const { fused, generic } = await bothPaths(FusedKernel.sumSquares, () => [AdamW.globalNormSquared(grads), tf.scalar(AdamW.globalNorm(grads))]);
  assertClose(fused, generic, 1e-6, 'sumSquares');
  assert.ok(generic[0]![0]! > 1000, 'the sum is not trivial');
  tf.dispose([...grads.values()]);
});

test('fused softmax cross-entropy: loss and logits gradient equal the generic formulation', async () => {
  const n = 23, v = 301;
  const logits = tf.tensor2d(scaled(n * v, 30, 4), [n, v]);
  const targets = Int32Array.from({ length: n }, (_, i) => (i * 37) % v);
  const { fused, generic } = await bothPaths(FusedKernel.softmaxXentGrad, () => {
    const ce = crossEntropy(logits, targets);
    return [tf.reshape(ce.loss, [1]), ce.backward(3)];
  });
  assertClose(fused, generic, 2e-6, 'crossEntropy');
  assert.throws(() => {
    enableNativeMatmul();
    try {
      crossEntropy(logits, Int32Array.from({ length: n }, () => v));
    } finally {
      disableNativeMatmul();
    }
  }, /outside the vocabulary/);
  logits.dispose();
});

test('fused dropout masks are the JavaScript generator\'s, bit for bit', async () => {
  for (const [p, shape, site] of [[0.1, [37, 53], 3], [0.5, [4, 9, 11], 17], [0.9, [1000], 2]] as const) {
    const ctx = { p, seed: 1113, step: 7, micro: 1 };
    const { fused, generic } = await bothPaths(FusedKernel.dropoutMask, () => [dropoutMask(ctx, site, [...shape])!]);
    assert.deepEqual(Array.from(fused[0]!), Array.from(generic[0]!), `p ${p}, shape [${shape}]`);
    const kept = fused[0]!.filter((x) => x !== 0).length / fused[0]!.length;
    assert.ok(Math.abs(kept - (1 - p)) < 0.05, `kept fraction ${kept} for p ${p}`);
  }
});

test('heap slices: contiguous Slice and SplitV equal the wasm kernels; the others still work', async () => {
  const x = tf.tensor3d(gaussian(6 * 5 * 4, 40), [6, 5, 4]);
  const xi = tf.tensor2d(Int32Array.from({ length: 35 }, (_, i) => i * 3 - 7), [7, 5], 'int32');
  const { fused, generic } = await bothPaths('SplitV', () => [
    ...tf.split(x, 3, 0), ...tf.split(x, [1, 3, 1], 1), // the first is contiguous, the second is not
    tf.slice(x, [2, 0, 0], [3, 5, 4]), tf.slice(x, [1, 2, 0], [1, 2, 4]), tf.slice(x, [0, 1, 1], [6, 3, 2]),
    tf.cast(tf.slice(xi, [3, 0], [2, 5]), 'float32'), ...tf.split(xi, 7, 0).map((t) => tf.cast(t, 'float32')),
  ]);
  fused.forEach((f, i) => assert.deepEqual(Array.from(f), Array.from(generic[i]!), `output ${i}`));
  tf.dispose([x, xi]);
});

test('fused causal softmax and its gradient: attention output and qkv gradient equal the generic formulation', async () => {
  const s = { batch: 2, context: 9, heads: 3, embd: 12 };
  const n = s.batch * s.context;
  const qkv = tf.tensor2d(scaled(n * 3 * s.embd, 50, 2), [n, 3 * s.embd]);
  const dy = tf.tensor2d(gaussian(n * s.embd, 51), [n, s.embd]);
  const mask = dropoutMask({ p: 0.2, seed: 3, step: 1, micro: 0 }, 5, [s.batch * s.heads, s.context, s.context]);
  for (const dropMask of [null, mask]) {
    // the head path takes the causal softmax gradient (the addon's op for both is checked below)
    const { fused, generic } = await bothPaths(FusedKernel.causalSoftmax, () => {
      const f = causalSelfAttention(qkv, s, 0.37, dropMask, fp32);
      return [f.y, f.backward(dy)];
    });
    assertClose(fused, generic, 1e-5, `attention${dropMask ? ' with dropout' : ''}`);
  }
  tf.dispose([qkv, dy, mask!]);
});

test('head kernels: strided per-head attention products (odd shapes, dropout, fp16 roundings) equal the generic formulation', async () => {
  const s = { batch: 3, context: 7, heads: 5, embd: 15 };
  const n = s.batch * s.context;
  const qkv = tf.tensor2d(scaled(n * 3 * s.embd, 60, 2), [n, 3 * s.embd]);
  const dy = tf.tensor2d(gaussian(n * s.embd, 61), [n, s.embd]);
  const mask = dropoutMask({ p: 0.3, seed: 4, step: 2, micro: 1 }, 7, [s.batch * s.heads, s.context, s.context]);
  for (const [label, precision, dropMask] of [['fp32', fp32, null], ['fp32 with dropout', fp32, mask], ['fp16 with dropout', precisionOf('fp16'), mask]] as const) {
    const { fused, generic } = await bothPaths(HeadKernel.qkvGrad, () => {
      const f = causalSelfAttention(qkv, s, 0.41, dropMask, precision);
      return [f.y, f.backward(dy)];
    });
    // fp16: a sum that lands next to a half rounding boundary may round to the neighbour (2^-10 relative).
    assertClose(fused, generic, label.startsWith('fp16') ? 2e-3 : 1e-5, `heads attention ${label}`);
  }
  tf.dispose([qkv, dy, mask!]);
});

test('head kernels: the causal block products (contexts of 2 and 3 query blocks, a ragged last block) equal the generic formulation', async () => {
  assert.deepEqual(causalBlocks(63), [[0, 63]]);
  assert.deepEqual(causalBlocks(100), [[0, 34], [34, 68], [68, 100]]);
  for (const context of [70, 100]) {
    const s = { batch: 2, context, heads: 2, embd: 8 };
    const n = s.batch * s.context;
    const qkv = tf.tensor2d(scaled(n * 3 * s.embd, 80 + context, 2), [n, 3 * s.embd]);
    const dy = tf.tensor2d(gaussian(n * s.embd, 81 + context), [n, s.embd]);
    const ctx = { p: 0.2, seed: 5, step: 1, micro: 0 };
    const mask = dropoutMask(ctx, 3, [s.batch * s.heads, s.context, s.context]);
    // a draw: the head path multiplies by the mask drawn in the dropout kernel, the generic one by the mask tensor
    const draw = dropoutDraw(ctx, 3, [s.batch * s.heads, s.context, s.context]);
    for (const [label, drop] of [['no dropout', null], ['mask', mask], ['draw', draw]] as const) {
      const { fused, generic } = await bothPaths(HeadKernel.qkvGrad, () => {
        const f = causalSelfAttention(qkv, s, 0.3, drop, fp32);
        return [f.y, f.backward(dy)];
      });
      assertClose(fused, generic, 1e-5, `causal blocks, context ${context}, ${label}`);
    }
    tf.dispose([qkv, dy, mask!]);
  }
});

test('causal softmax gradient and causal attention dropout: the generic products on the keys up to each query, 0 after', async () => {
  const [rows, t] = [3 * 37, 37];
  const x = tf.tensor3d(scaled(rows * t, 90, 3), [3, t, t]);
  const dp = tf.tensor3d(gaussian(rows * t, 91), [3, t, t]);
  const causal = tf.tensor3d(Array.from({ length: rows * t }, (_, i) => ((i % t) <= Math.floor(i / t) % t ? 1 : 0)), [3, t, t]);
  const draw = { key: 12345, p: 0.3 };
  enableNativeMatmul();
  assert.ok(hasFused(FusedKernel.causalSoftmaxGrad) && hasFused(FusedKernel.causalDropout), 'the addon lacks the causal ops: rebuild it');
  const [got, want] = tf.tidy(() => {
    const p = runFused(FusedKernel.causalSoftmax, { x })[0]!;
    const generic = tf.mul(tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true))), 0.7);
    const mask = runFused(FusedKernel.dropoutMask, {}, { shape: [3, t, t], ...draw })[0]!;
    return [
      [runFused(FusedKernel.causalSoftmaxGrad, { p, dp }, { scale: 0.7 })[0]!, runFused(FusedKernel.softmaxGrad, { p, dp }, { scale: 0.7 })[0]!,
        runFused(FusedKernel.causalDropout, { x }, draw)[0]!],
      [generic, generic, tf.mul(tf.mul(x, mask), causal)],
    ].map((ts) => ts.map((v) => (v.dataSync() as Float32Array).slice()));
  });
  disableNativeMatmul();
  assertClose(got!.slice(0, 2), want!.slice(0, 2), 1e-6, 'softmax gradients');
  const plusZero = (a: Float32Array) => Array.from(a, (v) => v + 0); // x 0 above the diagonal is -0 for negative x
  assert.deepEqual(plusZero(got![2]!), plusZero(want![2]!), 'causal dropout: the mask product below the diagonal, bit for bit');
  tf.dispose([x, dp, causal]);
});

test('fused dropout apply and residual add (mask drawn in the kernel) equal the mask product, bit for bit', async () => {
  const shape = [37, 29];
  const base = tf.tensor2d(gaussian(37 * 29, 70), [37, 29]);
  const x = tf.tensor2d(scaled(37 * 29, 71, 3), [37, 29]);
  for (const p of [0.1, 0.5]) {
    const ctx = { p, seed: 11, step: 3, micro: 2 };
    for (const kernel of [FusedKernel.dropoutApply, FusedKernel.dropoutAdd]) {
      const { fused, generic } = await bothPaths(kernel, () => {
        const site = dropoutSite(ctx, 4, shape)!;
        return [site.apply(x), site.addTo(base, x)];
      });
      fused.forEach((f, i) => assert.deepEqual(f, generic[i], `p ${p} output ${i}`));
      assert.ok(fused[0]!.some((v) => v === 0) && fused[0]!.some((v) => v !== 0), 'some dropped, some kept');
    }
  }
  assert.equal(dropoutSite({ p: 0, seed: 1, step: 0, micro: 0 }, 4, shape), null);
  tf.dispose([base, x]);
});

test('AdamW in place (OpenBLAS path): the fused kernel\'s numbers exactly; memory another tensor shares is never written', async () => {
  enableNativeMatmul();
  try {
    const run = async (shareEachStep: boolean) => {
      const a = tf.variable(tf.tensor2d(gaussian(13 * 7, 7), [13, 7]), true);
      const b = tf.variable(tf.tensor1d(gaussian(7, 8)), true);
      const opt = new AdamW([{ fullName: 'a', variable: a, decay: true }, { fullName: 'b', variable: b, decay: false }],
        { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
      const kernelsPerStep: number[] = [];
      for (let s = 0; s < 4; s++) {
        const grads = new Map<string, tf.Tensor>([['a', tf.tensor2d(gaussian(13 * 7, 10 + s), [13, 7])], ['b', tf.tensor1d(scaled(7, 20 + s, 1e-3))]]);
        // Views share the data of a and its moments: the update must then leave that data alone.
        const views = shareEachStep ? [a, opt.m.get('a')!, opt.v.get('a')!].map((t) => tf.reshape(t, t.shape)) : [];
        const before = views.map((t) => (t.dataSync() as Float32Array).slice());
        const info = await tf.profile(() => opt.step(grads, 1e-2, s === 1 ? 0.25 : 1));
        kernelsPerStep.push(info.kernels.filter((k) => k.name === FusedKernel.adamW).length);
        views.forEach((t, i) => assert.deepEqual(t.dataSync(), before[i], `step ${s}: shared data was written`));
        tf.dispose([...views, ...grads.values()]);
      }
      const out = [a, b, opt.m.get('a')!, opt.v.get('a')!, opt.m.get('b')!, opt.v.get('b')!].map((t) => (t.dataSync() as Float32Array).slice());
      opt.dispose();
      tf.dispose([a, b]);
      return { out, kernelsPerStep };
    };
    const inPlace = await run(false);
    const shared = await run(true);
    // First step: the new variables share their data with their initial tensors, so the kernel runs; then in place.
    assert.deepEqual(inPlace.kernelsPerStep, [2, 0, 0, 0]);
    assert.ok(shared.kernelsPerStep.slice(1).every((n) => n >= 1), `shared data took the kernel: ${shared.kernelsPerStep}`);
    inPlace.out.forEach((o, i) => assert.deepEqual(o, shared.out[i], `output ${i}`));
  } finally {
    disableNativeMatmul();
  }
});
