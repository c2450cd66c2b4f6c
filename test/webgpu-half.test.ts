// fp16 'native' on webgpu (precision/half-storage.ts): packed half storage bit for bit equal to
// the emulation's rounding (precision/half.ts), the f16 matmul against the float32 product of
// the same half values, and a dense and an InRank GPT-2 trained with loss scaling and AdamW on
// the native path against the emulation on the same device. In CI these run on Mesa's software
// Vulkan driver (lavapipe), which offers shader-f16; they are skipped, saying why, only where
// Dawn finds no adapter or the adapter has no shader-f16.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../harness/train/backend/select.ts';
import { probeAdapter } from '../harness/train/backend/webgpu.ts';
import { fp16EmulatedOnDevice, fp16PathFor, precisionOf } from '../harness/train/precision/index.ts';
import { fp16NativeOnDevice, halfOps, nativeHalfReady } from '../harness/train/precision/half-storage.ts';
import { roundHalfArray } from '../harness/train/precision/half.ts';
import { compareTraces, fp16Config, traceFp16 } from '../scripts/fp16-paths.ts';
import { scaled } from './kernel-compare.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunConfig } from '../harness/contract/config.ts';
import type { TrainEvent } from '../harness/contract/protocol.ts';
import { train } from '../harness/train/trainer/run.ts';

const probe = await probeAdapter();
const skip = 'reason' in probe ? `no WebGPU adapter here: ${probe.reason}`
  : !probe.info.shaderF16 ? `the WebGPU adapter (${probe.info.description}) has no shader-f16` : false;

async function start(): Promise<void> {
  await selectBackend('webgpu');
  assert.ok(nativeHalfReady(), 'shader-f16 offered: the native half path is on');
}

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length), (b) => b.toString(16));
const rounded = (x: Float32Array) => {
  const c = x.slice();
  roundHalfArray(c);
  return c;
};

test('pack / unpack: bit for bit the emulation\'s half rounding, special values included', { skip }, async () => {
  await start();
  const special = [0, -0, 2 ** -24, -(2 ** -24), 2 ** -25, 3 * 2 ** -25, 5 * 2 ** -26, 2 ** -14, 2 ** -14 - 2 ** -25, 1e-40, -1e-30,
    65504, 65519.996, 65520, -65520, 1e6, Infinity, -Infinity, NaN, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -(1 + 2 ** -11), 0.1, 1 / 3];
  // the special values, then normals from 2^-20 to 2^17, in a shape with odd rows (a padded word each)
  const wide = scaled(7 * 13, 3, 1).map((v, i) => v * 2 ** ((i % 38) - 20));
  for (const [data, shape] of [[Float32Array.from(special), [1, special.length]], [wide, [7, 13]]] as const) {
    const x = tf.tensor2d(data, shape as [number, number]);
    const h = halfOps.pack(x);
    assert.deepEqual(h.words.shape, [shape[0], Math.ceil(shape[1] / 2)]);
    assert.equal(h.words.dtype, 'int32');
    const back = halfOps.unpack(h);
    assert.deepEqual(bits((await back.data()) as Float32Array), bits(rounded(data)));
    tf.dispose([x, h.words, back]);
  }
});

test('f16 matmul: every transpose, bias and packed output equal the float32 product of the halves, rounded once', { skip }, async () => {
  await start();
  const [m, k, n] = [70, 37, 67]; // two tiles each way, the second partial; odd sizes: padded words
  const a = tf.tensor2d(scaled(m * k, 1, 1), [m, k]);
  const b = tf.tensor2d(scaled(k * n, 2, 1), [k, n]);
  const bias = tf.tensor1d(scaled(n, 3, 1));
  const ah = halfOps.unpack(halfOps.pack(a));
  const bh = halfOps.unpack(halfOps.pack(b));
  const want = rounded((await tf.add(tf.matMul(ah, bh), bias).data()) as Float32Array);
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const pa = halfOps.pack(transA ? (tf.transpose(a) as tf.Tensor2D) : a);
      const pb = halfOps.pack(transB ? (tf.transpose(b) as tf.Tensor2D) : b);
      for (const out of ['f32', 'packed'] as const) {
        const y = out === 'f32' ? halfOps.matMul(pa, pb, { transA, transB, bias }) : halfOps.unpack(halfOps.matMulHalf(pa, pb, { transA, transB, bias }));
        assert.deepEqual(y.shape, [m, n]);
        const got = (await y.data()) as Float32Array;
        assert.deepEqual(bits(got), bits(rounded(got)), 'the output holds half values');
        // summation order only: at most one half step (2^-10 relative) apart
        got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 2 ** -10 * Math.abs(want[i]!) + 2 ** -24, `transA ${transA} transB ${transB} ${out} [${i}]: ${v} vs ${want[i]}`));
      }
    }
  }
});

test('fp16 on a shader-f16 adapter runs native and is recorded so; INRANK_FP16_PATH=emulated keeps the emulation, another value is refused', { skip }, async () => {
  await start();
  assert.equal(precisionOf('fp16'), fp16NativeOnDevice);
  assert.equal(fp16PathFor('fp16', true), 'native');
  assert.equal(fp16PathFor('fp16', false), 'emulated');
  assert.equal(fp16PathFor('fp32', true), null);
  process.env.INRANK_FP16_PATH = 'emulated';
  try {
    await selectBackend('webgpu');
    assert.equal(precisionOf('fp16'), fp16EmulatedOnDevice);
    assert.equal(fp16PathFor('fp16', true), 'emulated');
    process.env.INRANK_FP16_PATH = 'f16';
    await assert.rejects(selectBackend('webgpu'), /INRANK_FP16_PATH must be auto or emulated/);
  } finally {
    delete process.env.INRANK_FP16_PATH;
  }
});

for (const method of ['full', 'inrank'] as const) {
  test(`${method === 'full' ? 'dense' : 'InRank'} GPT-2, 3 steps with loss scaling and AdamW: native equals the emulation (summation order only) and holds fewer bytes`, { skip }, async () => {
    await start();
    const cfg = fp16Config(method);
    const emulated = await traceFp16(cfg, fp16EmulatedOnDevice);
    const native = await traceFp16(cfg, fp16NativeOnDevice);
    assert.deepEqual(native.scales, emulated.scales, 'the same loss-scale decisions');
    const d = compareTraces(emulated, native);
    assert.ok(d.loss < 1e-3, `losses differ by ${d.loss}`);
    assert.ok(d.grad < 1e-2, `first-step gradients differ by ${d.grad} of their largest entry`);
    assert.ok(d.paramShare < 0.3, `${d.paramShare} of the parameters moved apart`);
    assert.ok(native.losses[2]! < native.losses[0]!, 'the model learns');
    // About 0.4x: packed linear inputs and activations, and attention keeping only its packed qkv
    // (no T x T tensors); with attention on the emulation's float32 tensors it was above 0.6x.
    assert.ok(native.bytesHeld < 0.5 * emulated.bytesHeld, `bytes held for backward: native ${native.bytesHeld}, emulated ${emulated.bytesHeld}`);
  });
}

test('the trainer on webgpu: an fp16 run records fp16Path native, and its losses are finite', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-half-'));
  try {
    const events: TrainEvent[] = [];
    const cfg = parseRunConfig({
      method: 'inrank',
      model: { nEmbd: 32, nHead: 2, nLayer: 1, context: 32, vocabSize: 128 },
      data: { vocabTopK: 128, cacheDir: join(tmpdir(), 'inrank-engine-test-cache') },
      train: { globalBatch: 8, microBatch: 4, maxSteps: 2, evalEvery: 100, evalBatches: 1, checkpointEvery: 100, lr: 3e-3, warmupSteps: 1 },
      stage: { kind: 'single' },
      precision: { kind: 'fp16' },
      backend: 'webgpu',
      outDir: dir,
    });
    await train(cfg, { emit: (e) => events.push(e), log: () => {}, stopRequested: () => false });
    const startEvent = events.find((e) => e.type === 'start');
    assert.ok(startEvent?.type === 'start' && startEvent.adapter?.shaderF16 === true);
    assert.equal(startEvent.fp16Path, 'native');
    const losses = events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));
    assert.equal(losses.length, 2);
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
