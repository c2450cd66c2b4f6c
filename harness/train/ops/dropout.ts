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

/** The stream of one site's mask. */
function maskKey(ctx: DropoutContext, site: number): number {
  return streamKey(ctx.seed, 0xd7, ctx.step, ctx.micro, site);
}

/** What draws one site's mask: its stream, p and shape (a kernel may draw each element where it uses it). */
export interface DropoutDraw {
  key: number;
  p: number;
  shape: number[];
}

/** The draw of one dropout site; null when dropout is off. */
export function dropoutDraw(ctx: DropoutContext | null, site: number, shape: number[]): DropoutDraw | null {
  if (!ctx || ctx.p <= 0) return null;
  return { key: maskKey(ctx, site), p: ctx.p, shape };
}

/** The mask (0 or 1/(1-p)) of one dropout site; null when dropout is off. */
export function dropoutMask(ctx: DropoutContext | null, site: number, shape: number[]): tf.Tensor | null {
  const draw = dropoutDraw(ctx, site, shape);
  return draw ? drawMask(draw) : null;
}

/** The mask tensor of a draw. */
export function drawMask({ key, p, shape }: DropoutDraw): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  // The same numbers from a native kernel where the backend has one (4.5M draws a step on the bench model).
  if (hasFused(FusedKernel.dropoutMask)) return runFused(FusedKernel.dropoutMask, {}, { shape, key, p })[0]!;
  const keep = 1 / (1 - p);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = uniformAt(key, i) >= p ? keep : 0;
  return tf.tensor(data, shape, 'float32');
}

export function applyMask<T extends tf.Tensor>(x: T, mask: tf.Tensor | null): T {
  return mask ? (tf.mul(x, mask) as T) : x;
}

/** One dropout site of a pass, applied to tensors of its shape: x mask, and base + x mask. */
export interface DropoutSite {
  apply<T extends tf.Tensor>(x: T): T;
  addTo<T extends tf.Tensor>(base: T, x: T): T;
}

/**
 * The site's mask as operations. Where the backend has the fused kernels (the native addon) each
 * is one pass that draws the mask as it goes (the same numbers: no mask tensor is written or kept,
 * and backward draws it again); elsewhere the mask tensor, made once, and a multiply (and add).
 * Null when dropout is off.
 */
export function dropoutSite(ctx: DropoutContext | null, site: number, shape: number[]): DropoutSite | null {
  if (!ctx || ctx.p <= 0) return null;
  if (hasFused(FusedKernel.dropoutApply) && hasFused(FusedKernel.dropoutAdd)) {
    const attrs = { key: maskKey(ctx, site), p: ctx.p };
    const check = (x: tf.Tensor) => {
      if (x.size !== shape.reduce((a, b) => a * b, 1)) throw new Error(`dropout site ${site}: tensor [${x.shape}] does not fit its mask [${shape}]`);
    };
    return {
      apply: <T extends tf.Tensor>(x: T) => (check(x), runFused(FusedKernel.dropoutApply, { x }, attrs)[0] as T),
      addTo: <T extends tf.Tensor>(base: T, x: T) => (check(x), runFused(FusedKernel.dropoutAdd, { base, x }, attrs)[0] as T),
    };
  }
  const mask = dropoutMask(ctx, site, shape)!;
  return {
    apply: <T extends tf.Tensor>(x: T) => applyMask(x, mask),
    addTo: <T extends tf.Tensor>(base: T, x: T) => tf.add(base, applyMask(x, mask)) as T,
  };
}
