// Causal self-attention on the flash kernels (ops/fused.ts flashAttention, WGSL on webgpu):
// qkv [N, 3C] -> y [N, C] without the T x T scores, probabilities or dropout mask in memory;
// the kernels draw the attention-dropout mask from its stream key, the same mask the
// materialised path multiplies by. Taken in fp32 only: fp16 rounds the scores and probabilities
// to half, which the materialised path (emulation) and flash-half-attention.ts (native) do.
import * as tf from '@tensorflow/tfjs-core';
import type { Precision } from '../model/linear.ts';
import { fp32 } from '../precision/index.ts';
import type { Forward } from './grads.ts';
import type { DropoutDraw } from './dropout.ts';
import { FlashKernel, hasFused, runFused } from './fused.ts';
import type { AttentionShape } from './attention.ts';

/** Whether the flash path can run: both kernels registered, fp32, and the dropout (if any) as a draw. */
export function flashUsable(precision: Precision, drop: tf.Tensor | DropoutDraw | null): boolean {
  return precision === fp32 && !(drop instanceof tf.Tensor) && hasFused(FlashKernel.forward) && hasFused(FlashKernel.backward);
}

export function flashAttention(qkv: tf.Tensor2D, s: AttentionShape, scale: number, drop: DropoutDraw | null): Forward {
  const want = [s.batch * s.heads, s.context, s.context];
  if (drop && drop.shape.join() !== want.join()) throw new Error(`flash attention: dropout draw [${drop.shape}] is not the attention's [${want}]`);
  const attrs = { batch: s.batch, heads: s.heads, scale, key: drop?.key ?? 0, p: drop?.p ?? 0 };
  // [N, C + H]: y, then each head's row logsumexp (what backward recomputes the probabilities from).
  const out = runFused(FlashKernel.forward, { qkv }, attrs)[0]!;
  const y = tf.slice(out, [0, 0], [s.batch * s.context, s.embd]) as tf.Tensor2D;
  return {
    y,
    backward: (dy: tf.Tensor2D) => runFused(FlashKernel.backward, { dy, qkv, out }, attrs)[0] as tf.Tensor2D,
  };
}
