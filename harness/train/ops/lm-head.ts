// The tied LM head and the mean token cross-entropy in one fused op (ops/fused.ts LmHeadKernel,
// WGSL on webgpu): loss = mean_i -log(max(softmax(x wte^T)_i,t_i, floor)), as crossEntropy on
// the materialised logits gives, but the [N, V] logits and probabilities are never written: the
// forward keeps each row's logsumexp, and backward recomputes dlogits from it tile by tile.
// fp32 only: fp16 rounds the logits and dlogits to half, which the kernels do not.
import * as tf from '@tensorflow/tfjs-core';
import type { Precision } from '../model/linear.ts';
import { fp32 } from '../precision/index.ts';
import { PROB_FLOOR } from './cross-entropy.ts';
import { hasFused, LmHeadKernel, runFused } from './fused.ts';

export function lmHeadUsable(precision: Precision): boolean {
  return precision === fp32 && hasFused(LmHeadKernel.forward) && hasFused(LmHeadKernel.backward);
}

/** x [N, C] and the tied wte [V, C]; backward(gradScale) gives dx and dwte of loss times gradScale. */
export function lmHeadCrossEntropy(x: tf.Tensor2D, wte: tf.Tensor2D, targets: Int32Array):
  { loss: tf.Scalar; backward(gradScale: number): { dx: tf.Tensor2D; dwte: tf.Tensor2D } } {
  const ids = tf.tensor1d(targets, 'int32');
  const [stats, loss] = runFused(LmHeadKernel.forward, { x, wte, targets: ids }, { floor: PROB_FLOOR });
  return {
    loss: loss as tf.Scalar,
    backward(gradScale: number) {
      const [dx, dwte] = runFused(LmHeadKernel.backward, { x, wte, targets: ids, stats: stats! }, { scale: gradScale / x.shape[0] });
      return { dx: dx as tf.Tensor2D, dwte: dwte as tf.Tensor2D };
    },
  };
}
