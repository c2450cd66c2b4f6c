// The WGSL kernels (harness/train/backend/webgpu-kernels) against the generic tfjs formulation
// of the same ops on the webgpu backend, forward and backward, on small shapes. Runs on any
// WebGPU adapter, Mesa's software Vulkan driver (lavapipe) included; skipped with the reason
// where Dawn finds no adapter.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { registerWebgpuKernels, unregisterWebgpuKernels } from '../harness/train/backend/webgpu-kernels/index.ts';
import { gelu } from '../harness/train/ops/gelu.ts';
import { layerNorm } from '../harness/train/ops/layernorm.ts';
import { crossEntropy } from '../harness/train/ops/cross-entropy.ts';
import { dropoutMask } from '../harness/train/ops/dropout.ts';
import { causalSelfAttention } from '../harness/train/ops/attention.ts';
import { fp32 } from '../harness/train/precision/index.ts';
import { setMatmulPath } from '../harness/train/backend/select.ts';
import { AdamW } from '../harness/train/optim/adamw.ts';
import { FlashKernel, FusedKernel, hasFused } from '../harness/train/ops/fused.ts';
import { gaussian } from './inrank-fixtures.ts';
import { assertClose, scaled } from './kernel-compare.ts';

let noAdapter: string | null = null;

before(async () => {
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = create([]);
    (globalThis as unknown as { navigator: unknown }).navigator = { gpu };
    if ((await gpu.requestAdapter()) === null) throw new Error('Dawn found no WebGPU adapter');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not start');
    await tf.ready();
    // The ops' formulation for a device backend (transpose flags, batched heads, no host reads).
    setMatmulPath('tensorflow');
  } catch (err) {
    noAdapter = (err as Error).message.split('\n')[0]!;
  }
});

after(() => {
  unregisterWebgpuKernels();
  setMatmulPath('cpu');
});

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

test('WGSL LayerNorm: output, input gradient and weight / bias gradients equal the generic formulation', async (t) => {
  const rows = 13, cols = 40;
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
  if (r) assertClose(r.fused, r.generic, 5e-5, 'layerNorm');
  tf.dispose([x, w, b, dy]);
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
  const n = 11, v = 97;
  const logits = tf.tensor2d(scaled(n * v, 30, 4), [n, v]);
  const targets = Int32Array.from({ length: n }, (_, i) => (i * 37) % v);
  const r = await bothPaths(t, FusedKernel.softmaxXentGrad, () => {
    const ce = crossEntropy(logits, targets);
    return [tf.reshape(ce.loss, [1]), ce.backward(3)];
  });
  if (r) assertClose(r.fused, r.generic, 1e-5, 'crossEntropy');
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
  const s = { batch: 2, context: 9, heads: 3, embd: 12 };
  const n = s.batch * s.context;
  const qkv = tf.tensor2d(scaled(n * 3 * s.embd, 50, 2), [n, 3 * s.embd]);
  const dy = tf.tensor2d(gaussian(n * s.embd, 51), [n, s.embd]);
  const r = await bothPaths(t, FusedKernel.softmaxGrad, () => {
    // The materialised path's softmax kernels: without the flash kernels (test/webgpu-attention.test.ts has those).
    for (const name of [FlashKernel.forward, FlashKernel.backward]) if (tf.getKernel(name, 'webgpu')) tf.unregisterKernel(name, 'webgpu');
    const f = causalSelfAttention(qkv, s, 0.37, null, fp32);
    return [f.y, f.backward(dy)];
  });
  if (r) assertClose(r.fused, r.generic, 1e-5, 'attention');
  tf.dispose([qkv, dy]);
});
