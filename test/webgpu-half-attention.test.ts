// fp16 'native' attention (ops/flash-half-attention.ts: the fp16 flash kernels on packed halves)
// against the emulation's head-kernel path (ops/attention.ts headsAttention with float32 storage
// rounded to half) on the same webgpu device, at tiny shapes: T not a multiple of the tiles, head
// dims 8, 16 and 64, dropout 0 and 0.2. Both round at the same points, so they differ by summation
// order only: nearly every output is bit for bit the same, and the rest a few half steps apart.
// A path that left out one of the roundings would change most outputs. On lavapipe in CI; skipped,
// saying why, where Dawn finds no adapter or the adapter has no shader-f16.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../harness/train/backend/select.ts';
import { probeAdapter } from '../harness/train/backend/webgpu.ts';
import { causalSelfAttention, type AttentionShape } from '../harness/train/ops/attention.ts';
import { dropoutDraw } from '../harness/train/ops/dropout.ts';
import { FlashHalfKernel, HeadKernel } from '../harness/train/ops/fused.ts';
import type { Precision } from '../harness/train/model/linear.ts';
import { fp16EmulatedOnDevice } from '../harness/train/precision/index.ts';
import { fp16NativeOnDevice, nativeHalfReady } from '../harness/train/precision/half-storage.ts';
import { roundHalfArray } from '../harness/train/precision/half.ts';
import { gaussian } from './inrank-fixtures.ts';
import { scaled } from './kernel-compare.ts';

const probe = await probeAdapter();
const skip = 'reason' in probe ? `no WebGPU adapter here: ${probe.reason}`
  : !probe.info.shaderF16 ? `the WebGPU adapter (${probe.info.description}) has no shader-f16` : false;

/** Attention output and qkv gradient on `precision`, checking that `kernel` ran. */
async function run(precision: Precision, kernel: string, s: AttentionShape, p: number, seed: number): Promise<Float32Array[]> {
  const n = s.batch * s.context;
  const qkv = scaled(n * 3 * s.embd, seed, 1.5);
  const dy = gaussian(n * s.embd, seed + 1);
  let outs: tf.Tensor[] = [];
  const info = await tf.profile(() => {
    outs = tf.tidy(() => {
      const drop = dropoutDraw(p > 0 ? { p, seed, step: 2, micro: 0 } : null, 4, [s.batch * s.heads, s.context, s.context]);
      const f = causalSelfAttention(tf.tensor2d(qkv, [n, 3 * s.embd]), s, 1 / Math.sqrt(s.embd / s.heads), drop, precision);
      return [f.y, f.backward(tf.tensor2d(dy, [n, s.embd]))];
    });
  });
  assert.ok(info.kernels.some((k) => k.name === kernel), `${kernel} did not run: ${info.kernels.map((k) => k.name).join(', ')}`);
  const data = await Promise.all(outs.map(async (x) => (await x.data()) as Float32Array));
  tf.dispose(outs);
  return data;
}

/** One half step (ulp) at |x|: 2^-24 among the subnormals. */
const halfStep = (x: number): number => 2 ** Math.max(Math.floor(Math.log2(Math.abs(x) || 2 ** -24)) - 10, -24);

/** Share of entries that differ, and the largest difference in half steps of the entry itself. */
function difference(got: Float32Array, want: Float32Array): { share: number; steps: number } {
  let off = 0;
  let steps = 0;
  want.forEach((w, i) => {
    if (got[i] === w) return;
    off++;
    steps = Math.max(steps, Math.abs(got[i]! - w) / halfStep(w));
  });
  return { share: off / want.length, steps };
}

const CASES: Array<[AttentionShape, number]> = [
  [{ batch: 2, context: 19, heads: 2, embd: 16 }, 0], // hd 8
  [{ batch: 2, context: 21, heads: 2, embd: 32 }, 0.2], // hd 16
  [{ batch: 1, context: 33, heads: 2, embd: 128 }, 0.2], // hd 64: the backward's tiles shrink to 8
];

test('fp16 flash attention on packed halves: output and qkv gradient equal the emulation up to summation order', { skip }, async () => {
  await selectBackend('webgpu');
  assert.ok(nativeHalfReady(), 'shader-f16 offered: the native half path is on');
  for (const [s, p] of CASES) {
    const emulated = await run(fp16EmulatedOnDevice, HeadKernel.qkvGrad, s, p, 71);
    const native = await run(fp16NativeOnDevice, FlashHalfKernel.backward, s, p, 71);
    ['y', 'dqkv'].forEach((name, i) => {
      const label = `T ${s.context} hd ${s.embd / s.heads} p ${p} ${name}`;
      const rounded = native[i]!.slice();
      roundHalfArray(rounded);
      assert.deepEqual(rounded, native[i], `${label}: holds half values`);
      const d = difference(native[i]!, emulated[i]!);
      console.log(`${label}: ${(100 * d.share).toFixed(2)}% of entries differ, by at most ${d.steps.toFixed(1)} half steps`);
      assert.ok(d.share <= 0.02, `${label}: ${(100 * d.share).toFixed(2)}% of entries differ (summation order changes a few)`);
      assert.ok(d.steps <= 4, `${label}: an entry differs by ${d.steps} of its half steps`);
    });
  }
});
