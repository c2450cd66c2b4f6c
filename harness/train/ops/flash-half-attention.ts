// Causal self-attention of fp16 'native' runs (precision.halfOps, a webgpu device with
// shader-f16) on the fp16 flash kernels (ops/fused.ts FlashHalfKernel): qkv is packed to halves
// once (the emulation's half(qkv)), and those packed halves, with each query row's softmax max and
// sum, are all the attention keeps for backward: no T x T scores, probabilities or dropout mask,
// and half the bytes of the float32 qkv. The rounding points are headsAttention's in
// ops/attention.ts, so the two differ by summation order only (test/webgpu-half-attention.test.ts).
import * as tf from '@tensorflow/tfjs-core';
import type { Precision } from '../model/linear.ts';
import type { HalfOps } from '../precision/half-storage.ts';
import type { Forward } from './grads.ts';
import type { DropoutDraw } from './dropout.ts';
import { FlashHalfKernel, hasFused, runFused } from './fused.ts';
import type { AttentionShape } from './attention.ts';

/** Whether the fp16 flash path runs: the native half path, its kernels registered, the dropout (if any) as a draw. */
export function flashHalfUsable(precision: Precision, drop: tf.Tensor | DropoutDraw | null): boolean {
  return precision.halfOps !== undefined && !(drop instanceof tf.Tensor) && Object.values(FlashHalfKernel).every(hasFused);
}

/** y [N, C] holding halves; its backward returns the qkv gradient [N, 3C] holding halves. inputNotKept: qkv may be freed. */
export function flashHalfAttention(qkv: tf.Tensor2D, s: AttentionShape, scale: number, drop: DropoutDraw | null, ops: HalfOps): Forward {
  const want = [s.batch * s.heads, s.context, s.context];
  if (drop && drop.shape.join() !== want.join()) throw new Error(`fp16 flash attention: dropout draw [${drop.shape}] is not the attention's [${want}]`);
  const attrs = { batch: s.batch, heads: s.heads, embd: s.embd, scale, key: drop?.key ?? 0, p: drop?.p ?? 0 };
  const words = ops.pack(qkv).words;
  const stats = runFused(FlashHalfKernel.stats, { qkv: words }, attrs)[0]!;
  const y = runFused(FlashHalfKernel.context, { qkv: words, stats }, attrs)[0] as tf.Tensor2D;
  return {
    y,
    backward(dy: tf.Tensor2D): tf.Tensor2D {
      const d = runFused(FlashHalfKernel.rowTerms, { dy, qkv: words, stats }, attrs)[0]!;
      const dqkv = runFused(FlashHalfKernel.backward, { dy, qkv: words, stats, d }, attrs)[0] as tf.Tensor2D;
      tf.dispose([d, words, stats]);
      return dqkv;
    },
    inputNotKept: true,
  };
}
