// Inverted dropout with counter-based masks: the mask of (seed, step, micro-batch, site) is the
// same whenever it is drawn, so resumed runs reproduce uninterrupted ones exactly.
import * as tf from '@tensorflow/tfjs-core';
import { streamKey, uniformAt } from './random.ts';
import { FusedKernel, hasFused, runFused } from './fused.ts';

export interface DropoutContext {
  p: number;
  seed: number;
  step: number;
  micro: number;
}

/** The mask (0 or 1/(1-p)) of one dropout site; null when dropout is off. */
export function dropoutMask(ctx: DropoutContext | null, site: number, shape: number[]): tf.Tensor | null {
  if (!ctx || ctx.p <= 0) return null;
  const n = shape.reduce((a, b) => a * b, 1);
  const key = streamKey(ctx.seed, 0xd7, ctx.step, ctx.micro, site);
  // The same numbers from a native kernel where the backend has one (4.5M draws a step on the bench model).
  if (hasFused(FusedKernel.dropoutMask)) return runFused(FusedKernel.dropoutMask, {}, { shape, key, p: ctx.p })[0]!;
  const keep = 1 / (1 - ctx.p);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = uniformAt(key, i) >= ctx.p ? keep : 0;
  return tf.tensor(data, shape, 'float32');
}

export function applyMask<T extends tf.Tensor>(x: T, mask: tf.Tensor | null): T {
  return mask ? (tf.mul(x, mask) as T) : x;
}
