// The three behaviours where the defaults follow the paper's official code (issue 14), each
// with its option: which parameters decay (train.decayEmbeddings), which GELU each method's
// model computes (model.activation), and at which counter ticks the InRank determinations fall
// when evaluation passes count (inrank.countEvalPasses), against the reference's arithmetic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parseRunConfig, resolveActivation, type RunConfigInput } from '../harness/contract/config.ts';
import type { RankEvent, TrainEvent } from '../harness/contract/protocol.ts';
import { GPT } from '../harness/train/model/gpt.ts';
import { linearFactoryFor } from '../harness/train/model/linears.ts';
import { AdamW } from '../harness/train/optim/adamw.ts';
import { withEmbeddingDecay } from '../harness/train/optim/param-groups.ts';
import { gelu, geluExact } from '../harness/train/ops/gelu.ts';
import { evalPassTicks, sanityTicks } from '../harness/train/trainer/eval-ticks.ts';
import { train } from '../harness/train/trainer/run.ts';
import { loadCorpus } from '../harness/train/data/corpus.ts';
import { TokenWindows } from '../harness/train/data/windows.ts';
import { directionalCheck, randn, useCpu } from './engine-helpers.ts';

const CACHE = join(tmpdir(), 'inrank-engine-test-cache');
const tinyModel = { nEmbd: 16, nHead: 2, nLayer: 1, context: 8, vocabSize: 32 };

function decayedNames(method: 'full' | 'inrank', decayEmbeddings: boolean): string[] {
  const cfg = parseRunConfig({ method, model: tinyModel });
  const model = new GPT(cfg.model, 1, linearFactoryFor(cfg));
  try {
    return withEmbeddingDecay(model.params(), decayEmbeddings).filter((p) => p.decay).map((p) => p.fullName).sort();
  } finally {
    model.dispose();
  }
}

test('weight decay: the reference decays linear weights and low-rank factors only; train.decayEmbeddings adds wte and wpe', async () => {
  await useCpu();
  const full = ['h.0.attn.c_attn.weight', 'h.0.attn.c_proj.weight', 'h.0.mlp.fc1.weight', 'h.0.mlp.fc2.weight'];
  const low = ['h.0.attn.c_attn.weight', 'h.0.attn.c_proj.weight', 'h.0.mlp.fc1.A', 'h.0.mlp.fc1.B', 'h.0.mlp.fc2.A', 'h.0.mlp.fc2.B'];
  assert.deepEqual(decayedNames('full', false), full);
  assert.deepEqual(decayedNames('inrank', false), low);
  assert.deepEqual(decayedNames('full', true), [...full, 'wpe', 'wte'].sort());
  assert.equal(parseRunConfig({}).train.decayEmbeddings, false);

  // What AdamW does with it: a step with zero gradients moves only the decayed parameters.
  for (const decayEmbeddings of [false, true]) {
    const cfg = parseRunConfig({ model: tinyModel });
    const model = new GPT(cfg.model, 1, linearFactoryFor(cfg));
    const params = withEmbeddingDecay(model.params(), decayEmbeddings);
    const before = new Map(params.map((p) => [p.fullName, p.variable.dataSync().slice()]));
    const optim = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
    const zeros = new Map(params.map((p) => [p.fullName, tf.zerosLike(p.variable) as tf.Tensor]));
    optim.step(zeros, 0.5, 1); // p *= 1 - 0.5 x 0.1 where p decays
    for (const p of params) {
      const factor = p.fullName === 'wte' || p.fullName === 'wpe' ? (decayEmbeddings ? 0.95 : 1) : p.decay ? 0.95 : 1;
      const after = p.variable.dataSync();
      const was = before.get(p.fullName)!;
      const gap = Math.max(...Array.from(after, (v, i) => Math.abs(v - was[i]! * factor)));
      assert.ok(gap < 1e-6, `${p.fullName}: off by ${gap} from x${factor} (decayEmbeddings ${decayEmbeddings})`);
      assert.ok(was.some((v) => v !== 0) || factor === 1, `${p.fullName} starts non-zero`);
    }
    tf.dispose([...zeros.values()]);
    optim.dispose();
    model.dispose();
  }
});

/** erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

test('GELU: reference = tanh for full rank, exact erf for fixed rank and InRank; each can be forced', async () => {
  await useCpu();
  assert.equal(resolveActivation('reference', 'full'), 'gelu-tanh');
  assert.equal(resolveActivation('reference', 'fixed'), 'gelu-exact');
  assert.equal(resolveActivation('reference', 'inrank'), 'gelu-exact');
  assert.equal(resolveActivation('gelu-tanh', 'inrank'), 'gelu-tanh');
  assert.equal(resolveActivation('gelu-exact', 'full'), 'gelu-exact');
  assert.equal(parseRunConfig({}).model.activation, 'reference');

  // The model computes with the GELU it names: exact and tanh give different losses.
  const cfg = parseRunConfig({ model: { ...tinyModel, dropout: 0 } });
  const inputs = Int32Array.from({ length: 16 }, (_, i) => (i * 5) % 32);
  const targets = Int32Array.from({ length: 16 }, (_, i) => (i * 3 + 1) % 32);
  const lossOf = (activation: 'gelu-tanh' | 'gelu-exact'): number => {
    const model = new GPT(cfg.model, 1, linearFactoryFor(cfg), { activation });
    assert.equal(model.activation, activation);
    const loss = tf.tidy(() => model.forward(inputs, targets, 2, { training: false, dropout: null, precision: { half: (t) => t } }).loss.dataSync()[0]!);
    model.dispose();
    return loss;
  };
  assert.notEqual(lossOf('gelu-exact'), lossOf('gelu-tanh'));
  assert.equal(new GPT(cfg.model, 1, linearFactoryFor(cfg)).activation, 'gelu-tanh'); // no option: as the full-rank reference
});

test('GELU (exact erf) matches x Phi(x) and its backward matches finite differences', async () => {
  await useCpu();
  const x = randn([10, 30], 21, 2) as tf.Tensor2D;
  const y = geluExact(x).y.dataSync();
  const xs = x.dataSync();
  let maxTanhGap = 0;
  const yt = gelu(x).y.dataSync();
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    const ref = 0.5 * v * (1 + erf(v / Math.SQRT2));
    assert.ok(Math.abs(y[i]! - ref) < 1e-5, `gelu_exact(${v}) = ${y[i]} vs ${ref}`);
    maxTanhGap = Math.max(maxTanhGap, Math.abs(yt[i]! - y[i]!));
  }
  assert.ok(maxTanhGap > 1e-5, 'the two forms differ somewhere in [-6, 6]');
  const r = randn([10, 30], 22) as tf.Tensor2D;
  const dx = geluExact(x).backward(r);
  const weighted = (t: tf.Tensor) => tf.sum(tf.mul(t, r)).dataSync()[0]!;
  const [e] = directionalCheck([x], ([xx]) => weighted(geluExact(xx as tf.Tensor2D).y), [dx]);
  assert.ok(e! < 2e-3, `relative error ${e}`);
});

test('eval ticks per pass follow the reference: ceil(N / (devices x 2 x micro-batch)); sanity = 2 batches per device', () => {
  // WikiText-103's test split in windows of 1024, 8 devices, batch_size_eval 16: 3 forward passes per device.
  assert.equal(evalPassTicks(274, 8, 8), 3);
  assert.equal(evalPassTicks(128, 8, 8), 1);
  assert.equal(evalPassTicks(129, 8, 8), 2);
  assert.equal(evalPassTicks(128, 8, 1), 8); // the cpu profile's validation: 16 batches of 8 on one device
  assert.equal(sanityTicks(1000, 8, 8), 2);
  assert.equal(sanityTicks(100, 8, 8), 1); // fewer validation batches than Lightning's 2
});

/**
 * The reference's counter, one device standing for all: sanity ticks at step 0, then per
 * optimizer step `stepTicks` training ticks, validation ticks after the steps the schedule
 * validates at, and the test ticks after the last step; determinations where counter > warmup
 * and counter % gap == 0. Returns [step, counter] of each determination.
 */
function referenceDeterminations(p: {
  sanity: number; stepTicks: number; steps: number; evalEvery: number; validTicks: number; testTicks: number; warmup: number; gap: number;
}): [number, number][] {
  const out: [number, number][] = [];
  let counter = 0;
  const tick = (step: number, n: number) => {
    for (let i = 0; i < n; i++) {
      counter += 1;
      if (counter > p.warmup && counter % p.gap === 0) out.push([step, counter]);
    }
  };
  tick(0, p.sanity);
  for (let s = 1; s <= p.steps; s++) {
    tick(s, p.stepTicks);
    if (s % p.evalEvery === 0 && s < p.steps) tick(s, p.validTicks);
  }
  tick(p.steps, p.testTicks);
  return out;
}

test('InRank determinations fall at the reference ticks: sanity check, training, validation and the test before pruning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reference-ticks-'));
  // 2 devices (ticks), micro-batch 2, 4 micro-batches per step: 2 ticks per step. Validation:
  // 5 batches of 2 = 10 windows, 2 x 2 x 2 = 8 windows per tick: 2 ticks; the sanity check 2.
  const devices = 2;
  const micro = 2;
  const warmup = 3;
  const gap = 3;
  const steps = 5;
  const evalEvery = 2;
  const input = (countEvalPasses: boolean, out: string): RunConfigInput => ({
    name: 'ticks',
    method: 'inrank',
    model: { nEmbd: 32, nHead: 2, nLayer: 1, context: 64, vocabSize: 128 },
    data: { vocabTopK: 128, cacheDir: CACHE },
    train: { globalBatch: 8, microBatch: micro, maxSteps: 20, evalEvery, evalBatches: 5, checkpointEvery: 100, lr: 0.003, warmupSteps: 1 },
    inrank: { initModes: 2, bufferModes: 4, warmupIter: warmup, gapIter: gap, microBatchesPerTick: devices, countEvalPasses },
    stage: { kind: 'stage1', stage1Steps: steps },
    backend: 'wasm',
    outDir: join(dir, out),
  });
  const corpus = await loadCorpus(parseRunConfig(input(true, 'x')).data, () => {});
  const testWindows = new TokenWindows(corpus.test, 64).count;
  const validWindows = Math.min(new TokenWindows(corpus.valid, 64).count, 5 * micro);
  const ref = (counting: boolean) =>
    referenceDeterminations({
      sanity: counting ? Math.min(2, Math.ceil(Math.ceil(validWindows / devices) / (2 * micro))) : 0,
      stepTicks: (8 / micro) / devices,
      steps,
      evalEvery,
      validTicks: counting ? Math.ceil(Math.ceil(validWindows / devices) / (2 * micro)) : 0,
      testTicks: counting ? Math.ceil(Math.ceil(testWindows / devices) / (2 * micro)) : 0,
      warmup,
      gap,
    });

  for (const countEvalPasses of [true, false]) {
    const events: TrainEvent[] = [];
    const logs: string[] = [];
    const code = await train(parseRunConfig(input(countEvalPasses, String(countEvalPasses))), { emit: (e) => events.push(e), log: (l) => logs.push(l), stopRequested: () => false });
    assert.equal(code, 0);
    assert.ok(logs.some((l) => l.startsWith('MLP activation gelu-exact;')), logs.join('\n'));
    const ranks = events.filter((e): e is RankEvent => e.type === 'rank' && e.layer === 'h.0.mlp.fc1');
    const expected = ref(countEvalPasses);
    assert.ok(expected.length >= 2);
    assert.deepEqual(ranks.map((e) => [e.step, e.counter]), expected, `countEvalPasses ${countEvalPasses}`);
    // Stage 1 prunes to the rank of the last determination, the test-time ones included.
    const prune = events.find((e) => e.type === 'prune');
    assert.ok(prune?.type === 'prune');
    assert.equal(prune.ranks['h.0.mlp.fc1'], ranks.at(-1)!.currentModes);
    // The test pass runs before pruning only where it counts.
    assert.equal(events.some((e) => e.type === 'eval' && e.split === 'test'), countEvalPasses);
  }
});
