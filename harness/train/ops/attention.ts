// Causal multi-head self-attention core: qkv [N, 3C] -> y [N, C] (c_attn and c_proj are the
// caller's linears). Head layout changes use only 3-D [1,0,2] and 4-D [0,2,1,3] transposes,
// which are fast on wasm (a 5-D transpose is not).
import * as tf from '@tensorflow/tfjs-core';
import type { Precision } from '../model/linear.ts';
import { bmm } from './bmm.ts';
import { splitRows } from './matmul.ts';
import { preferPlainMatmul } from '../backend/select.ts';
import type { Forward } from './grads.ts';
import { FusedKernel, HeadKernel, hasFused, runFused } from './fused.ts';
import { drawMask, type DropoutDraw } from './dropout.ts';
import { flashAttention, flashUsable } from './flash-attention.ts';
import { flashHalfAttention, flashHalfUsable } from './flash-half-attention.ts';

export interface AttentionShape {
  batch: number;
  context: number;
  heads: number;
  embd: number;
}

// Keyed by backend too: a process that switches backends (the webgpu tests) must not hand a
// tensor of one to the other (a GPU tensor cannot be read synchronously in Node).
const causalBiasCache = new Map<string, tf.Tensor2D>();
/** 0 on and below the diagonal, a large negative number above (future positions). */
function causalBias(t: number): tf.Tensor2D {
  const key = `${tf.getBackend()}:${t}`;
  let bias = causalBiasCache.get(key);
  if (!bias || bias.isDisposed) {
    const data = new Float32Array(t * t);
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) data[i * t + j] = -1e9;
    bias = tf.keep(tf.tensor2d(data, [t, t]));
    causalBiasCache.set(key, bias);
  }
  return bias;
}

/** [N, C] -> [B*H, T, hd] */
function toHeads(x: tf.Tensor, s: AttentionShape, groups = 1): tf.Tensor3D {
  const hd = s.embd / s.heads;
  const t = tf.transpose(tf.reshape(x, [groups * s.batch, s.context, s.heads, hd]), [0, 2, 1, 3]);
  return tf.reshape(t, [groups * s.batch * s.heads, s.context, hd]);
}

/** [groups*B*H, T, hd] -> [groups*N, C] */
function fromHeads(x: tf.Tensor, s: AttentionShape, groups = 1): tf.Tensor2D {
  const hd = s.embd / s.heads;
  const t = tf.transpose(tf.reshape(x, [groups * s.batch, s.heads, s.context, hd]), [0, 2, 1, 3]);
  return tf.reshape(t, [groups * s.batch * s.context, s.embd]);
}

/**
 * scale = 1/sqrt(head dim), times 1/(layer index + 1) with HF's scale_attn_by_inverse_layer_idx.
 * drop: the attention-probability dropout, its mask [B*H, T, T] or the draw that makes it
 * (the flash kernels draw it themselves), or null.
 */
export function causalSelfAttention(
  qkv: tf.Tensor2D,
  s: AttentionShape,
  scale: number,
  drop: tf.Tensor | DropoutDraw | null,
  precision: Precision,
): Forward {
  if (flashUsable(precision, drop)) return flashAttention(qkv, s, scale, drop as DropoutDraw | null);
  if (flashHalfUsable(precision, drop)) return flashHalfAttention(qkv, s, scale, drop as DropoutDraw | null, precision.halfOps!);
  if (hasHeadKernels()) return headsAttention(qkv, s, scale, maskApplier(drop), precision);
  const dropMask = drop === null || drop instanceof tf.Tensor ? drop : drawMask(drop);
  const n = s.batch * s.context;
  // [N, 3C] -> [3, N, C] -> [3*B*H, T, hd]; rows 0..bh are q, then k, then v.
  const grouped = tf.transpose(tf.reshape(qkv, [n, 3, s.embd]), [1, 0, 2]);
  const heads = precision.half(toHeads(grouped, s, 3));
  const [q, k, v] = splitQkv(heads, s);
  const scores = precision.half(tf.mul(bmm(q, k, false, true), scale));
  const fused = hasFused(FusedKernel.causalSoftmax);
  const p = (fused ? runFused(FusedKernel.causalSoftmax, { x: scores })[0]! : tf.softmax(tf.add(scores, causalBias(s.context)))) as tf.Tensor3D;
  const pd = precision.half(dropMask ? (tf.mul(p, dropMask) as tf.Tensor3D) : p);
  const y = precision.half(fromHeads(bmm(pd, v), s));
  return {
    y,
    backward(dy: tf.Tensor2D): tf.Tensor2D {
      const dyh = precision.half(toHeads(dy, s));
      const dpd = precision.half(bmm(dyh, v, false, true));
      const dv = bmm(pd, dyh, true, false);
      const dp = dropMask ? tf.mul(dpd, dropMask) : dpd;
      // softmax backward: p * (dp - sum(dp * p)); the scale of the scores folds in here
      const ds = precision.half((fused
        ? runFused(FusedKernel.softmaxGrad, { p, dp }, { scale })[0]!
        : tf.mul(tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true))), scale)) as tf.Tensor3D);
      const dq = bmm(ds, k);
      const dk = bmm(ds, q, true, false);
      const dheads = precision.half(tf.concat([dq, dk, dv], 0));
      const dgrouped = fromHeads(dheads, s, 3); // [3N, C] laid out as [3, N, C]
      return tf.reshape(tf.transpose(tf.reshape(dgrouped, [3, n, s.embd]), [1, 0, 2]), [n, 3 * s.embd]);
    },
  };
}

/** [3*B*H, T, hd] -> q, k, v [B*H, T, hd]; on plain wasm with one host read (its Slice copies the whole input per call). */
function splitQkv(heads: tf.Tensor3D, s: AttentionShape): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  const bh = s.batch * s.heads;
  const hd = s.embd / s.heads;
  if (!preferPlainMatmul()) return tf.split(heads, 3, 0) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  const parts = splitRows(heads, 3, bh * s.context, hd).map((t) => tf.reshape(t, [bh, s.context, hd]) as tf.Tensor3D);
  return [parts[0]!, parts[1]!, parts[2]!];
}

/** The per-head products, the causal softmax and its gradient are all native (the OpenBLAS path). */
function hasHeadKernels(): boolean {
  return Object.values(HeadKernel).every(hasFused) && hasFused(FusedKernel.causalSoftmax) && hasFused(FusedKernel.softmaxGrad);
}

/**
 * x [B*H, T, T] times the attention dropout's mask, or null without dropout. A draw goes to the
 * native pass that draws each mask element where it multiplies (the same numbers as the mask
 * tensor, bit for bit: no mask is written, and each product is one pass instead of a generic
 * multiply); the causal one draws only up to each query's key and writes 0 after, where p (and so
 * the products that read these) is 0 anyway. A given mask tensor is multiplied.
 */
function maskApplier(drop: tf.Tensor | DropoutDraw | null): ((x: tf.Tensor) => tf.Tensor) | null {
  if (drop === null) return null;
  if (drop instanceof tf.Tensor) return (x) => tf.mul(x, drop);
  const attrs = { key: drop.key, p: drop.p };
  if (hasFused(FusedKernel.causalDropout)) return (x) => runFused(FusedKernel.causalDropout, { x }, attrs)[0]!;
  if (hasFused(FusedKernel.dropoutApply)) return (x) => runFused(FusedKernel.dropoutApply, { x }, attrs)[0]!;
  const mask = drawMask(drop);
  return (x) => tf.mul(x, mask);
}

/**
 * causalSelfAttention on the head kernels: the same products, softmax, dropout and half roundings
 * as the generic formulation, with q, k, v read in place from qkv and no head-layout copies.
 */
function headsAttention(qkv: tf.Tensor2D, s: AttentionShape, scale: number, dropout: ((x: tf.Tensor) => tf.Tensor) | null, precision: Precision): Forward {
  const attrs = { batch: s.batch, heads: s.heads };
  const qkvh = precision.half(qkv);
  const scores = precision.half(runFused(HeadKernel.scores, { qkv: qkvh }, { ...attrs, scale })[0]!);
  const p = runFused(FusedKernel.causalSoftmax, { x: scores })[0]!;
  const pd = precision.half(dropout ? dropout(p) : p);
  const y = precision.half(runFused(HeadKernel.context, { p: pd, qkv: qkvh }, attrs)[0]! as tf.Tensor2D);
  return {
    y,
    backward(dy: tf.Tensor2D): tf.Tensor2D {
      const dyh = precision.half(dy);
      // With the causal softmax gradient (it reads dp only up to each query's key) the product
      // skips the blocks right of the diagonal, as the forward ones do.
      const causal = hasFused(FusedKernel.causalSoftmaxGrad);
      const dpd = precision.half(runFused(HeadKernel.contextGrad, { dy: dyh, qkv: qkvh }, { ...attrs, causal: causal ? 1 : 0 })[0]!);
      const dp = dropout ? dropout(dpd) : dpd;
      const ds = precision.half(runFused(causal ? FusedKernel.causalSoftmaxGrad : FusedKernel.softmaxGrad, { p, dp }, { scale })[0]!);
      return precision.half(runFused(HeadKernel.qkvGrad, { ds, p: pd, dy: dyh, qkv: qkvh }, attrs)[0]! as tf.Tensor2D);
    },
  };
}
