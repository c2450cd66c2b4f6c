// Fused kernels the ops use when the running backend has them registered (the native addon's
// on wasm, harness/train/backend/fused-kernels.ts): each does in one pass what the generic
// formulation in gelu.ts, layernorm.ts and adamw.ts does in 5 to 12 tfjs kernels. The kernel is
// the flag: an op takes the fused path exactly when tf.getKernel finds the kernel for the
// current backend, so a backend without them (cpu, tensorflow) keeps the generic path, and a
// backend that registers the same names (WebGPU) gets them without changes here.
import * as tf from '@tensorflow/tfjs-core';

export const FusedKernel = {
  /** x -> tanh-approximation GELU(x). */
  gelu: 'InRankGeluTanh',
  /** (x, dy) -> dx. */
  geluGrad: 'InRankGeluTanhGrad',
  /** x -> (tanh-GELU(x), s = sigmoid(2c (x + a x^3))): the forward keeping what backward needs. */
  geluSaved: 'InRankGeluTanhSaved',
  /** (x, s, dy) -> dx of tanh-GELU from the saved s (no exp). */
  geluSavedGrad: 'InRankGeluTanhSavedGrad',
  /** x -> exact (erf) GELU(x) = x Phi(x). */
  geluExact: 'InRankGeluErf',
  /** (x, dy) -> dx. */
  geluExactGrad: 'InRankGeluErfGrad',
  /** (x [N, C], weight [C], bias [C]) -> (y [N, C], stats [2, N]: the rows' means, then their 1 / std); attrs eps. */
  layerNorm: 'InRankLayerNorm',
  /** (dy, x, weight, stats) -> (dx, dweight, dbias). */
  layerNormGrad: 'InRankLayerNormGrad',
  /** (param, grad, m, v) -> (param', m', v'); attrs lr, beta1, beta2, eps, decay, bc1, bc2Sqrt, gradMultiplier. */
  adamW: 'InRankAdamW',
  /** (logits [N, V], targets int32 [N]) -> (softmax [N, V], mean cross-entropy []); attrs floor (of the target's probability). */
  softmaxXent: 'InRankSoftmaxXent',
  /** (softmax, targets) -> dlogits = (softmax - onehot) scale; attrs scale. */
  softmaxXentGrad: 'InRankSoftmaxXentGrad',
  /** () -> dropout mask of ops/dropout.ts (0 or 1 / (1 - p)); attrs shape, key (the stream), p. */
  dropoutMask: 'InRankDropoutMask',
  /** (x) -> x times the dropout mask of attrs shape (x's), key, p, drawn in the kernel: no mask tensor. */
  dropoutApply: 'InRankDropoutApply',
  /** (base, x) -> base + x times that mask (a residual after dropout). */
  dropoutAdd: 'InRankDropoutAdd',
  /** scores [..., T, T] (query rows, key columns) -> causal softmax: keys after the query get 0. */
  causalSoftmax: 'InRankCausalSoftmax',
  /** (p, dp) -> p (dp - sum_row(dp p)) scale; attrs scale. */
  softmaxGrad: 'InRankSoftmaxGrad',
  /**
   * Causal rows x [rows, T] (row r is query r % T) -> x mask on the keys up to the query, 0 after
   * (the dropout mask of attrs key, p, drawn in the kernel). The CPU head path's attention dropout.
   */
  causalDropout: 'InRankCausalDropout',
  /** softmaxGrad on causal rows: reads p and dp only up to each query's own key (dp after it may be unwritten), ds 0 after. */
  causalSoftmaxGrad: 'InRankCausalSoftmaxGrad',
  /** (t0, t1, ... any number of float32 tensors) -> the sum of the squares of all their elements [] (accumulated in double; in f32 on webgpu). */
  sumSquares: 'InRankSumSquares',
  /** Low-rank layer on its active block: (x, A [r, in], B [out, r], bias) -> (y, h = x A[:k]^T); attrs k (inrank/lowrank-fused.ts). */
  lowRank: 'InRankLowRank',
  /** (dy, x, h, A, B) -> (dx, dA [r, in], dB [out, r], dbias), modes past k zero; attrs k. */
  lowRankGrad: 'InRankLowRankGrad',
} as const;

export type FusedKernelName = (typeof FusedKernel)[keyof typeof FusedKernel];

/**
 * The attention's per-head products on the c_attn projection qkv [N = B T, 3C] (q, k, v side by
 * side, each head hd = C / H columns of its part); attrs batch (B) and heads (H). ops/attention.ts
 * takes them where all four are registered (the OpenBLAS path: backend/head-kernels.ts).
 */
export const HeadKernel = {
  /** qkv -> scale q_h k_h^T [B H, T, T]; attrs scale too. Only key <= query is used (the WGSL kernel writes 0 above). */
  scores: 'InRankHeadScores',
  /** (p [B H, T, T], qkv) -> p_h v_h, the heads side by side [N, C]. */
  context: 'InRankHeadContext',
  /** (dy [N, C], qkv) -> dy_h v_h^T [B H, T, T]; as scores, only key <= query is used. */
  contextGrad: 'InRankHeadContextGrad',
  /** (ds, p [B H, T, T], dy [N, C], qkv) -> [ds_h k_h | ds_h^T q_h | p_h^T dy_h] [N, 3C]. */
  qkvGrad: 'InRankHeadQkvGrad',
} as const;

export type HeadKernelName = (typeof HeadKernel)[keyof typeof HeadKernel];

/**
 * Flash-style causal attention (WGSL on webgpu: backend/webgpu-kernels/flash-*.ts); ops/attention.ts
 * prefers it in fp32 where both are registered. Apart from FusedKernel, whose names the native
 * addon registers on wasm all together.
 */
export const FlashKernel = {
  /**
   * qkv [N, 3C] -> [N, C + H]: causal attention's output (columns 0..C) and each head's row
   * logsumexp (column C + h), without the T x T scores in memory; attrs batch, heads, scale and
   * the attention dropout's key and p (p 0: none), its mask drawn in the kernel.
   */
  forward: 'InRankFlashAttention',
  /** (dy [N, C], qkv, out [N, C + H] of the forward) -> dqkv [N, 3C]; the same attrs. */
  backward: 'InRankFlashAttentionGrad',
} as const;

export type FlashKernelName = (typeof FlashKernel)[keyof typeof FlashKernel];

/**
 * The fp16 flash attention of the native half path (backend/webgpu-kernels/flash-half-*.ts), at the
 * emulation's rounding points; ops/flash-half-attention.ts takes it for fp16 runs with halfOps.
 * qkv is packed halves (precision/half-storage.ts), int32 [N, ceil(3C / 2)]; attrs batch, heads,
 * embd (C), scale and the attention dropout's key and p.
 */
export const FlashHalfKernel = {
  /** qkv -> stats [N, 2H]: each head's softmax row max m (columns 0..H), then its sum l. */
  stats: 'InRankFlashAttentionHalfStats',
  /** (qkv, stats) -> y [N, C] holding halves. */
  context: 'InRankFlashAttentionHalf',
  /** (dy [N, C], qkv, stats [N, 2H]: m and l) -> D [N, H], the softmax gradient's row term. */
  rowTerms: 'InRankFlashAttentionHalfRows',
  /** (dy, qkv, stats, d [N, H]) -> dqkv [N, 3C] holding halves. */
  backward: 'InRankFlashAttentionHalfGrad',
} as const;

export type FlashHalfKernelName = (typeof FlashHalfKernel)[keyof typeof FlashHalfKernel];

/**
 * The tied LM head fused with the softmax cross-entropy (WGSL on webgpu: backend/webgpu-kernels/
 * lmhead-*.ts), flash-style: the [N, V] logits and probabilities never reach memory.
 * ops/lm-head.ts takes it in fp32 where both are registered.
 */
export const LmHeadKernel = {
  /** (x [N, C], wte [V, C], targets int32 [N]) -> (stats [N, 3]: each row's logit max, exp-sum and loss, mean loss []); attrs floor. */
  forward: 'InRankLmHeadXent',
  /** (x, wte, targets, stats) -> (dx [N, C], dwte [V, C]) of dlogits = (softmax - onehot) scale; attrs scale. */
  backward: 'InRankLmHeadXentGrad',
  /**
   * The fp16 native variants (head-half.ts): x and wte packed halves (precision/half-storage.ts),
   * attrs embd (C) too; logits, dlogits and the products rounded to half where the emulation does.
   */
  forwardHalf: 'InRankLmHeadXentHalf',
  backwardHalf: 'InRankLmHeadXentHalfGrad',
} as const;

export type LmHeadKernelName = (typeof LmHeadKernel)[keyof typeof LmHeadKernel];

type KernelName = FusedKernelName | HeadKernelName | FlashKernelName | FlashHalfKernelName | LmHeadKernelName;

/** Whether the current backend has this fused kernel. */
export function hasFused(name: KernelName): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

export function runFused(name: KernelName, inputs: tf.NamedTensorMap, attrs: Record<string, number | number[]> = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? out : [out as tf.Tensor];
}
