// Model-level behaviour: exact parameter counts of the presets, FLOPs from shapes, a tiny
// model overfitting one batch, and determinism of training with dropout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu, useWasm } from './engine-helpers.ts';
import { MODEL_PRESETS, modelSchema } from '../harness/contract/config.ts';
import { paramCounts, trainingFlopsPerToken, denseMlpCost, lowRankLinearCost } from '../harness/contract/model-cost.ts';
import { GPT } from '../harness/train/model/gpt.ts';
import { denseFactory } from '../harness/train/model/linears.ts';
import { AdamW, clipCoefficient } from '../harness/train/optim/adamw.ts';
import { linearWarmupDecay } from '../harness/train/optim/schedule.ts';
import { fp32 } from '../harness/train/precision/index.ts';
import { runMicroBatch } from '../harness/train/trainer/micro-batch.ts';

const shape = (name: keyof typeof MODEL_PRESETS) => ({ ...MODEL_PRESETS[name], context: 1024, vocabSize: 50257 });

test('parameter counts of the presets equal the HF GPT-2 numbers', () => {
  assert.equal(paramCounts(shape('gpt2')).total, 124_439_808);
  assert.equal(paramCounts(shape('gpt2-medium')).total, 354_823_168);
  assert.equal(paramCounts(shape('gpt2-large')).total, 774_030_080);
  assert.equal(paramCounts(shape('gpt2')).mlp, 12 * (2 * 768 * 3072 + 3072 + 768));
});

test('FLOPs per token: 6 x multiply-adds of every matmul, attention over the full context', () => {
  const m = { nEmbd: 8, nHead: 2, nLayer: 3, context: 16, vocabSize: 50 };
  // per layer: qkv 8*24, proj 8*8, mlp 2*8*32, scores + values 2*16*8; head 8*50
  const macs = 3 * (8 * 24 + 8 * 8 + 2 * 8 * 32 + 2 * 16 * 8) + 8 * 50;
  assert.equal(trainingFlopsPerToken(m), 6 * macs);
  // a low-rank MLP at rank r costs r (in + out) per linear
  const low = Array.from({ length: 3 }, () => {
    const a = lowRankLinearCost(8, 32, 2);
    const b = lowRankLinearCost(32, 8, 2);
    return { params: a.params + b.params, macsPerToken: a.macsPerToken + b.macsPerToken };
  });
  assert.equal(trainingFlopsPerToken(m, low), 6 * (macs - 3 * denseMlpCost(8).macsPerToken + 3 * 2 * 2 * 40));
  // gpt2 at context 1024: about 6 x 124M x ... sanity: between 6N and 6N + 12 L T C
  const g = trainingFlopsPerToken(shape('gpt2'));
  assert.ok(g > 6 * 85e6 && g < 6 * 124.5e6 + 12 * 12 * 1024 * 768);
});

test('an instantiated model has exactly the counted parameters', async () => {
  await useCpu();
  const cfg = modelSchema.parse({ nEmbd: 16, nHead: 2, nLayer: 2, context: 8, vocabSize: 30 });
  const before = tf.memory().numBytes;
  const model = new GPT(cfg, 1, denseFactory());
  const n = model.params().reduce((s, p) => s + p.variable.size, 0);
  assert.equal(n, paramCounts(cfg).total);
  // Only the variables hold memory (no initial tensor kept beside them: owned-variable.ts).
  assert.equal(tf.memory().numBytes - before, 4 * n);
  for (const p of model.params()) assert.equal(tf.backend().refCount(p.variable.dataId), 1, p.fullName);
  assert.deepEqual(model.paramCounts(), paramCounts(cfg));
  const names = model.params().map((p) => p.fullName);
  for (const want of ['wte', 'wpe', 'h.0.ln_1.weight', 'h.0.attn.c_attn.weight', 'h.0.attn.c_proj.bias', 'h.1.mlp.fc1.weight', 'h.1.mlp.fc2.bias', 'ln_f.weight']) {
    assert.ok(names.includes(want), `missing ${want}`);
  }
  assert.equal(model.params().find((p) => p.fullName === 'h.0.ln_2.weight')!.decay, false);
  assert.equal(model.params().find((p) => p.fullName === 'h.0.attn.c_attn.bias')!.decay, false);
  assert.equal(model.params().find((p) => p.fullName === 'h.0.attn.c_attn.weight')!.decay, true);
  model.dispose();
});

test('LR schedule: linear warmup then linear decay to zero (HF)', () => {
  assert.equal(linearWarmupDecay(0, 10, 100), 0);
  assert.equal(linearWarmupDecay(5, 10, 100), 0.5);
  assert.equal(linearWarmupDecay(10, 10, 100), 1);
  assert.equal(linearWarmupDecay(55, 10, 100), 0.5);
  assert.equal(linearWarmupDecay(100, 10, 100), 0);
  assert.equal(linearWarmupDecay(0, 0, 100), 1);
});

function trainLosses(steps: number, dropout: number, seed: number): number[] {
  const cfg = modelSchema.parse({ nEmbd: 32, nHead: 2, nLayer: 2, context: 16, vocabSize: 32, dropout });
  const model = new GPT(cfg, seed, denseFactory());
  const optim = new AdamW(model.params(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const inputs = Int32Array.from({ length: 32 }, (_, i) => (i * 7 + 3) % 32);
  const targets = Int32Array.from({ length: 32 }, (_, i) => (i * 11 + 5) % 32);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const r = runMicroBatch(model, inputs, targets, 2, { training: true, dropout: { p: dropout, seed, step, micro: 0 }, precision: fp32 }, 1);
    losses.push(r.loss);
    optim.step(r.grads, 3e-3, clipCoefficient(AdamW.globalNorm(r.grads), 1));
    tf.dispose([...r.grads.values()]);
  }
  model.dispose();
  optim.dispose();
  return losses;
}

test('a tiny model overfits one batch to near-zero loss', async () => {
  await useWasm();
  const losses = trainLosses(150, 0, 1);
  assert.ok(losses[0]! > 3, `initial loss ${losses[0]} should be near ln(32)`);
  assert.ok(losses.at(-1)! < 0.05, `final loss ${losses.at(-1)}`);
});

test('same seed, same losses (with dropout); another seed differs', async () => {
  await useCpu();
  const a = trainLosses(4, 0.1, 7);
  const b = trainLosses(4, 0.1, 7);
  const c = trainLosses(4, 0.1, 8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});
