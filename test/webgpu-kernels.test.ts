// The WGSL kernels (harness/train/backend/webgpu-kernels) against the generic tfjs formulation
// of the same ops on the webgpu backend, forward and backward, on small shapes. Runs on any
// WebGPU adapter, Mesa's software Vulkan driver (lavapipe) included; skipped with the reason
// where Dawn finds no adapter.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { registerWebgpuKernels, unregisterWebgpuKernels } from '../harness/train/backend/webgpu-kernels/index.ts';
import { gelu, geluExact } from '../harness/train/ops/gelu.ts';
import { layerNorm } from '../harness/train/ops/layernorm.ts';
import { crossEntropy } from '../harness/train/ops/cross-entropy.ts';
import { dropoutMask } from '../harness/train/ops/dropout.ts';
import { causalSelfAttention } from '../harness/train/ops/attention.ts';
import { fp32 } from '../harness/train/precision/index.ts';
import { AdamW } from '../harness/train/optim/adamw.ts';
import { FlashKernel, FusedKernel, hasFused, runFused } from '../harness/train/ops/fused.ts';
import { gaussian } from './inrank-fixtures.ts';
import { startWebgpuForKernels, stopWebgpuForKernels } from './webgpu-fixture.ts';
import { assertClose, scaled } from './kernel-compare.ts';

let noAdapter: string | null = null;

before(async () => {
  noAdapter = await startWebgpuForKernels();
});

after(stopWebgpuForKernels);

/** Runs `compute` with the WGSL kernels (checking that `kernel` ran), then with the generic ones. */
async function bothPaths(t: { skip(msg: string): void }, kernel: string, compute: () => tf.Tensor[]): Promise<{ fused: Float32Array[]; generic: Float32Array[] } | null> {
  if (noAdapter !== null) {
    t.skip(`no WebGPU: ${noAdapter}`);
    return null;
  }
  const read = async (ts: tf.Tensor[]) => {
    const out = await Promise.all(ts.map(async (x) => (await x.data()) as Float32Array));
    tf.dispose(ts);
    return out;
  };
  assert.ok(registerWebgpuKernels().enabled);
  assert.ok(hasFused(FusedKernel.gelu));
  let outs: tf.Tensor[] = [];
  const info = await tf.profile(() => {
    outs = tf.tidy(() => compute());
  });
  assert.ok(info.kernels.some((k) => k.name === kernel), `${kernel} did not run: ${info.kernels.map((k) => k.name).join(', ')}`);
  const fused = await read(outs);
  unregisterWebgpuKernels();
  assert.ok(!hasFused(FusedKernel.gelu));
  const generic = await read(tf.tidy(() => compute()));
  return { fused, generic };
}

test('WGSL GELU: forward and backward equal the generic formulation', async (t) => {
  const x = tf.tensor2d(scaled(19 * 33, 1, 3), [19, 33]);
  const dy = tf.tensor2d(gaussian(19 * 33, 2), [19, 33]);
  const r = await bothPaths(t, FusedKernel.geluGrad, () => {
    const f = gelu(x);
    return [f.y, f.backward(dy)];
  });
  if (r) assertClose(r.fused, r.generic, 1e-5, 'gelu');
  tf.dispose([x, dy]);
});

test('WGSL exact (erf) GELU: forward and backward equal the generic formulation', async (t) => {
  const x = tf.tensor2d(scaled(19 * 33, 3, 4), [19, 33]);
  const dy = tf.tensor2d(gaussian(19 * 33, 4), [19, 33]);
  const r = await bothPaths(t, FusedKernel.geluExactGrad, () => {
    const f = geluExact(x);
    return [f.y, f.backward(dy)];
  });
  if (r) assertClose(r.fused, r.generic, 1e-5, 'gelu erf');
  tf.dispose([x, dy]);
});

// Shapes that break a workgroup reduction: a row longer than the workgroup (5000 columns: 256
// invocations, 20 strides), one column, row and column counts that are no multiple of the
// workgroup, the column sums' 8-column blocks or their 32 lanes (300 rows), and more rows than one
// dimension of the workgroup grid holds (65,600: it folds into 2-D).
test('WGSL LayerNorm: output, input gradient and weight / bias gradients equal the generic formulation', async (t) => {
  for (const [rows, cols] of [[13, 40], [300, 7], [3, 5000], [2, 1], [65600, 2]] as const) {
    const x = tf.tensor2d(scaled(rows * cols, 3, 2, 5), [rows, cols]);
    const w = tf.tensor1d(scaled(cols, 4, 0.5, 1));
    const b = tf.tensor1d(gaussian(cols, 5));
    const dy = tf.tensor2d(gaussian(rows * cols, 6), [rows, cols]);
    const r = await bothPaths(t, FusedKernel.layerNormGrad, () => {
      const grads = new Map<string, tf.Tensor>();
      const f = layerNorm(x, w, b, grads, { weight: 'w', bias: 'b' });
      const dx = f.backward(dy);
      return [f.y, dx, grads.get('w')!, grads.get('b')!];
    });
    if (r) assertClose(r.fused, r.generic, 5e-5, `layerNorm [${rows}, ${cols}]`);
    tf.dispose([x, w, b, dy]);
  }
});

test('WGSL AdamW: parameters and moments after three steps equal the generic update', async (t) => {
  const run = (): tf.Tensor[] => {
    const a = tf.variable(tf.tensor2d(gaussian(9 * 5, 7), [9, 5]), true);
    const b = tf.variable(tf.tensor1d(gaussian(5, 8)), true);
    const params = [{ fullName: 'a', variable: a, decay: true }, { fullName: 'b', variable: b, decay: false }];
    const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    for (let s = 0; s < 3; s++) {
      const grads = new Map<string, tf.Tensor>([
        ['a', tf.tensor2d(gaussian(9 * 5, 10 + s), [9, 5])],
        ['b', tf.tensor1d(scaled(5, 20 + s, 1e-3))],
      ]);
      opt.step(grads, 1e-2, s === 1 ? 0.25 : 1);
      tf.dispose([...grads.values()]);
    }
    const out = [a, b, opt.m.get('a')!, opt.v.get('a')!, opt.m.get('b')!, opt.v.get('b')!].map((x) => x.clone());
    opt.dispose();
    tf.dispose([a, b]);
    return out;
  };
  const r = await bothPaths(t, FusedKernel.adamW, run);
  if (r) assertClose(r.fused, r.generic, 1e-5, 'adamW');
});

test('WGSL softmax cross-entropy: loss and logits gradient equal the generic formulation', async (t) => {
  // 300 rows: the mean loss strides over more rows than its workgroup; 5000 columns: a long row.
  for (const [n, v] of [[11, 97], [300, 7], [5, 5000], [3, 2]] as const) {
    const logits = tf.tensor2d(scaled(n * v, 30, 4), [n, v]);
    const targets = Int32Array.from({ length: n }, (_, i) => (i * 37) % v);
    const r = await bothPaths(t, FusedKernel.softmaxXentGrad, () => {
      const ce = crossEntropy(logits, targets);
      return [tf.reshape(ce.loss, [1]), ce.backward(3)];
    });
    if (r) assertClose(r.fused, r.generic, 1e-5, `crossEntropy [${n}, ${v}]`);
    logits.dispose();
  }
});

test('WGSL softmax cross-entropy: -inf logits stay finite, +inf and NaN surface as NaN in the loss and gradient', async (t) => {
  const n = 4, v = 300;
  const values = scaled(n * v, 31, 2);
  values[3] = -Infinity; // row 0: a finite loss, as the generic softmax gives
  values[v + 150] = Infinity; // row 1
  values[2 * v + 299] = NaN; // row 2
  const logits = tf.tensor2d(values, [n, v]);
  const targets = Int32Array.from({ length: n }, (_, i) => (i * 41) % v);
  const r = await bothPaths(t, FusedKernel.softmaxXentGrad, () => {
    const ce = crossEntropy(logits, targets);
    return [tf.reshape(ce.loss, [1]), ce.backward(1)];
  });
  if (r) {
    assert.ok(Number.isNaN(r.fused[0]![0]) && Number.isNaN(r.generic[0]![0]), `loss: fused ${r.fused[0]![0]}, generic ${r.generic[0]![0]}`);
    for (const row of [1, 2]) assert.ok(r.fused[1]!.subarray(row * v, (row + 1) * v).every(Number.isNaN), `row ${row} of the gradient is NaN`);
    const finite = [0, 3].flatMap((row) => [r.fused[1]!.subarray(row * v, (row + 1) * v), r.generic[1]!.subarray(row * v, (row + 1) * v)]);
    assertClose([finite[0]!, finite[2]!], [finite[1]!, finite[3]!], 1e-5, 'finite rows');
  }
  logits.dispose();
});

test('WGSL dropout masks are the JavaScript generator\'s, bit for bit', async (t) => {
  for (const [p, shape, site] of [[0.1, [37, 53], 3], [0.5, [4, 9, 11], 17]] as const) {
    const ctx = { p, seed: 1113, step: 7, micro: 1 };
    const r = await bothPaths(t, FusedKernel.dropoutMask, () => [dropoutMask(ctx, site, [...shape])!]);
    if (r) assert.deepEqual(Array.from(r.fused[0]!), Array.from(r.generic[0]!), `p ${p}, shape [${shape}]`);
  }
});

test('WGSL causal softmax and its gradient: attention output and qkv gradient equal the generic formulation', async (t) => {
  // Context 300: rows of every valid length 1..300, longer than the 64-wide workgroup.
  for (const s of [{ batch: 2, context: 9, heads: 3, embd: 12 }, { batch: 1, context: 300, heads: 1, embd: 4 }]) {
    const n = s.batch * s.context;
    const qkv = tf.tensor2d(scaled(n * 3 * s.embd, 50, 2), [n, 3 * s.embd]);
    const dy = tf.tensor2d(gaussian(n * s.embd, 51), [n, s.embd]);
    const r = await bothPaths(t, FusedKernel.softmaxGrad, () => {
      // The materialised path's softmax kernels: without the flash kernels (test/webgpu-attention.test.ts has those).
      for (const name of [FlashKernel.forward, FlashKernel.backward]) if (tf.getKernel(name, 'webgpu')) tf.unregisterKernel(name, 'webgpu');
      const f = causalSelfAttention(qkv, s, 0.37, null, fp32);
      return [f.y, f.backward(dy)];
    });
    if (r) assertClose(r.fused, r.generic, 1e-5, `attention context ${s.context}`);
    tf.dispose([qkv, dy]);
  }
});

test('WGSL causal softmax past 65,535 rows (the workgroup grid folds into 2-D) equals a JavaScript softmax', async (t) => {
  const [rows, T] = [7300 * 9, 9];
  const values = scaled(rows * T, 52, 3);
  const x = tf.tensor3d(values, [rows / T, T, T]);
  if (noAdapter !== null) return t.skip(`no WebGPU: ${noAdapter}`);
  assert.ok(registerWebgpuKernels().enabled);
  const p = runFused(FusedKernel.causalSoftmax, { x })[0]!;
  const got = (await p.data()) as Float32Array;
  p.dispose();
  {
    const want = new Float32Array(rows * T);
    for (let row = 0; row < rows; row++) {
      const valid = (row % T) + 1;
      const xs = values.subarray(row * T, row * T + valid);
      const mx = Math.max(...xs);
      const sum = xs.reduce((a, v) => a + Math.exp(v - mx), 0);
      xs.forEach((v, j) => { want[row * T + j] = Math.exp(v - mx) / sum; });
    }
    assertClose([got], [want], 1e-5, 'causal softmax');
  }
  x.dispose();
});
