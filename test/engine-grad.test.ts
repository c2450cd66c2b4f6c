// Finite-difference checks of every explicit backward: linear, attention, LayerNorm, GELU,
// embedding, cross-entropy and the whole tiny model, on both matmul formulations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu, randn, directionalCheck } from './engine-helpers.ts';
import { DenseLinear } from '../harness/train/model/dense-linear.ts';
import { layerNorm } from '../harness/train/ops/layernorm.ts';
import { gelu } from '../harness/train/ops/gelu.ts';
import { causalSelfAttention } from '../harness/train/ops/attention.ts';
import { crossEntropy } from '../harness/train/ops/cross-entropy.ts';
import { embeddingGrad, embeddingLookup } from '../harness/train/ops/embedding.ts';
import { fp32 } from '../harness/train/precision/index.ts';
import { GPT } from '../harness/train/model/gpt.ts';
import { denseFactory } from '../harness/train/model/linears.ts';
import { modelSchema } from '../harness/contract/config.ts';
import { dropoutMask } from '../harness/train/ops/dropout.ts';

const TOL = 2e-2;
const paths = ['cpu', 'tensorflow'] as const; // plain 2-D formulation, and the transpose-flag / batched one

/** Loss = sum(y * r) for a fixed random r, so dL/dy = r. */
function weighted(y: tf.Tensor, r: tf.Tensor): number {
  return tf.sum(tf.mul(y, r)).dataSync()[0]!;
}

for (const path of paths) {
  test(`linear backward matches finite differences (${path})`, async () => {
    await useCpu(path);
    const layer = new DenseLinear({ inFeatures: 32, outFeatures: 64, initStd: 0.3, initKey: 5 });
    const x = randn([40, 32], 1) as tf.Tensor2D;
    const r = randn([40, 64], 2) as tf.Tensor2D;
    const f = layer.forward(x, true, fp32);
    const grads = new Map<string, tf.Tensor>();
    const dx = f.backward(r, grads);
    const run = ([xx, w, b]: tf.Tensor[]) => weighted(tf.add(tf.matMul(xx!, w!), b!), r);
    const errs = directionalCheck([x, layer.weight, layer.bias], run, [dx, grads.get('weight')!, grads.get('bias')!]);
    for (const e of errs) assert.ok(e < TOL, `relative error ${e}`);
  });

  test(`attention backward matches finite differences (${path})`, async () => {
    await useCpu(path);
    const s = { batch: 2, context: 32, heads: 2, embd: 32 };
    const qkv = randn([64, 96], 3) as tf.Tensor2D;
    const r = randn([64, 32], 4) as tf.Tensor2D;
    const mask = dropoutMask({ p: 0.2, seed: 1, step: 0, micro: 0 }, 1, [4, 32, 32]);
    const f = causalSelfAttention(qkv, s, 0.3, mask, fp32);
    const d = f.backward(r);
    const run = ([q]: tf.Tensor[]) => weighted(causalSelfAttention(q as tf.Tensor2D, s, 0.3, mask, fp32).y, r);
    const [e] = directionalCheck([qkv], run, [d]);
    assert.ok(e! < TOL, `relative error ${e}`);
  });

  test(`attention is causal: later tokens do not change earlier outputs (${path})`, async () => {
    await useCpu(path);
    const s = { batch: 1, context: 32, heads: 2, embd: 32 };
    const a = randn([32, 96], 5) as tf.Tensor2D;
    const changed = tf.concat([tf.slice(a, [0, 0], [20, 96]), randn([12, 96], 6)], 0) as tf.Tensor2D;
    const ya = causalSelfAttention(a, s, 0.25, null, fp32).y;
    const yb = causalSelfAttention(changed, s, 0.25, null, fp32).y;
    const diff = tf.max(tf.abs(tf.sub(tf.slice(ya, [0, 0], [20, 32]), tf.slice(yb, [0, 0], [20, 32])))).dataSync()[0]!;
    assert.ok(diff < 1e-6, `earlier outputs moved by ${diff}`);
  });

  test(`embedding lookup and gradient (${path})`, async () => {
    await useCpu(path);
    const table = randn([50, 16], 7) as tf.Tensor2D;
    const ids = Int32Array.from([3, 7, 3, 49, 0, 7]);
    const r = randn([6, 16], 8) as tf.Tensor2D;
    const g = embeddingGrad(r, ids, 50);
    const run = ([t]: tf.Tensor[]) => weighted(embeddingLookup(t as tf.Tensor2D, ids), r);
    const [e] = directionalCheck([table], run, [g]);
    assert.ok(e! < TOL, `relative error ${e}`);
  });
}

test('LayerNorm backward matches finite differences', async () => {
  await useCpu();
  const x = randn([24, 16], 9, 2) as tf.Tensor2D;
  const w = tf.add(1, randn([16], 10, 0.3)) as tf.Tensor1D;
  const b = randn([16], 11, 0.3) as tf.Tensor1D;
  const r = randn([24, 16], 12) as tf.Tensor2D;
  const grads = new Map<string, tf.Tensor>();
  const f = layerNorm(x, w, b, grads, { weight: 'w', bias: 'b' });
  const dx = f.backward(r);
  const run = ([xx, ww, bb]: tf.Tensor[]) => weighted(layerNorm(xx as tf.Tensor2D, ww as tf.Tensor1D, bb as tf.Tensor1D, new Map(), { weight: 'w', bias: 'b' }).y, r);
  const errs = directionalCheck([x, w, b], run, [dx, grads.get('w')!, grads.get('b')!]);
  for (const e of errs) assert.ok(e < TOL, `relative error ${e}`);
});

test('GELU (tanh) matches the formula and its backward matches finite differences', async () => {
  await useCpu();
  const x = randn([10, 30], 13, 2) as tf.Tensor2D;
  const y = gelu(x).y.dataSync();
  const xs = x.dataSync();
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    const ref = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    assert.ok(Math.abs(y[i]! - ref) < 1e-5, `gelu(${v}) = ${y[i]} vs ${ref}`);
  }
  const r = randn([10, 30], 14) as tf.Tensor2D;
  const dx = gelu(x).backward(r);
  const [e] = directionalCheck([x], ([xx]) => weighted(gelu(xx as tf.Tensor2D).y, r), [dx]);
  assert.ok(e! < TOL, `relative error ${e}`);
});

test('cross-entropy value and backward', async () => {
  await useCpu();
  const logits = randn([12, 20], 15, 2) as tf.Tensor2D;
  const targets = Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 20);
  const ce = crossEntropy(logits, targets);
  const l = logits.arraySync();
  let ref = 0;
  for (let i = 0; i < 12; i++) {
    const row = l[i]!;
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    ref += lse - row[targets[i]!]!;
  }
  assert.ok(Math.abs(ce.loss.dataSync()[0]! - ref / 12) < 1e-5);
  const d = ce.backward(1);
  const [e] = directionalCheck([logits], ([z]) => crossEntropy(z as tf.Tensor2D, targets).loss.dataSync()[0]!, [d]);
  assert.ok(e! < TOL, `relative error ${e}`);
});

for (const path of paths) {
  test(`whole tiny GPT: every parameter's gradient matches finite differences (${path})`, async () => {
    await useCpu(path);
    const cfg = modelSchema.parse({ nEmbd: 16, nHead: 2, nLayer: 2, context: 8, vocabSize: 23, dropout: 0.1, initStd: 0.2 });
    const model = new GPT(cfg, 3, denseFactory());
    const inputs = Int32Array.from({ length: 16 }, (_, i) => (i * 5 + 1) % 23);
    const targets = Int32Array.from({ length: 16 }, (_, i) => (i * 3 + 2) % 23);
    const opts = { training: true, dropout: { p: 0.1, seed: 1, step: 0, micro: 0 }, precision: fp32 };
    const params = model.params();
    const grads = tf.tidy(() => {
      const f = model.forward(inputs, targets, 2, opts);
      const g = f.backward(1);
      return params.map((p) => tf.keep(g.get(p.fullName)!));
    });
    const lossWith = (values: tf.Tensor[]) => {
      const saved = params.map((p) => tf.clone(p.variable));
      params.forEach((p, i) => p.variable.assign(values[i]!));
      const l = tf.tidy(() => model.forward(inputs, targets, 2, opts).loss.dataSync()[0]!);
      params.forEach((p, i) => p.variable.assign(saved[i]!));
      return l;
    };
    const values = params.map((p) => tf.clone(p.variable));
    // one direction over all parameters at once, then each parameter alone
    const errs = directionalCheck(values, lossWith, grads, 1e-2);
    errs.forEach((e, i) => assert.ok(e < 5e-2, `${params[i]!.fullName}: relative error ${e}`));
    model.dispose();
  });
}

test('the wasm backend computes the same loss and gradients as the checked cpu path', async () => {
  const { useWasm } = await import('./engine-helpers.ts');
  const cfg = modelSchema.parse({ nEmbd: 32, nHead: 2, nLayer: 2, context: 16, vocabSize: 40, dropout: 0.1 });
  const inputs = Int32Array.from({ length: 32 }, (_, i) => (i * 7 + 3) % 40);
  const targets = Int32Array.from({ length: 32 }, (_, i) => (i * 11 + 5) % 40);
  const opts = { training: true, dropout: { p: 0.1, seed: 2, step: 3, micro: 1 }, precision: fp32 };
  const results: { loss: number; grads: Map<string, Float32Array> }[] = [];
  for (const use of [() => useCpu(), useWasm]) {
    await use();
    const model = new GPT(cfg, 1, denseFactory());
    let loss = NaN;
    let grads = new Map<string, Float32Array>();
    tf.tidy(() => {
      const f = model.forward(inputs, targets, 2, opts);
      loss = f.loss.dataSync()[0]!;
      grads = new Map([...f.backward(1)].map(([k, g]) => [k, new Float32Array(g.dataSync() as Float32Array)]));
    });
    results.push({ loss, grads });
    model.dispose();
  }
  const [cpu, wasm] = results as [(typeof results)[0], (typeof results)[0]];
  assert.ok(Math.abs(cpu.loss - wasm.loss) < 1e-5);
  for (const [name, a] of cpu.grads) {
    const b = wasm.grads.get(name)!;
    let diff = 0;
    let scale = 1e-3;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(a[i]!));
    }
    assert.ok(diff / scale < 1e-3, `${name}: wasm differs from cpu by ${diff} (scale ${scale})`);
  }
});
