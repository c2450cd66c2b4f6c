// Mean token cross-entropy of logits [N, V] against target ids, with its explicit gradient
// (softmax - one-hot) / N. The softmax is one wasm kernel; a per-token loss is floored at
// -log(1e-30) = 69 (float32 probabilities underflow beyond), far above any divergence bound.
import * as tf from '@tensorflow/tfjs-core';
import { FusedKernel, hasFused, runFused } from './fused.ts';

export const PROB_FLOOR = 1e-30;

export function crossEntropy(logits: tf.Tensor2D, targets: Int32Array): { loss: tf.Scalar; backward(gradScale: number): tf.Tensor2D } {
  if (hasFused(FusedKernel.softmaxXent)) return fusedCrossEntropy(logits, targets);
  const [n, v] = logits.shape;
  const p = tf.softmax(logits) as tf.Tensor2D;
  const flatIdx = new Int32Array(n);
  for (let i = 0; i < n; i++) flatIdx[i] = i * v + targets[i]!;
  const pt = tf.gather(tf.reshape(p, [n * v]), tf.tensor1d(flatIdx, 'int32'));
  const loss = tf.neg(tf.mean(tf.log(tf.maximum(pt, PROB_FLOOR)))) as tf.Scalar;
  return {
    loss,
    backward(gradScale: number): tf.Tensor2D {
      // int32 then cast: tfjs-wasm's OneHot writes integer bits into a float32 output
      const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), v), 'float32');
      return tf.mul(tf.sub(p, onehot), gradScale / n) as tf.Tensor2D;
    },
  };
}

/** The same loss and gradient, one kernel each (ops/fused.ts): no gather, no one-hot tensor. */
function fusedCrossEntropy(logits: tf.Tensor2D, targets: Int32Array): { loss: tf.Scalar; backward(gradScale: number): tf.Tensor2D } {
  const n = logits.shape[0];
  const ids = tf.tensor1d(targets, 'int32');
  const [p, loss] = runFused(FusedKernel.softmaxXent, { logits, targets: ids }, { floor: PROB_FLOOR });
  return {
    loss: loss as tf.Scalar,
    backward: (gradScale: number): tf.Tensor2D =>
      runFused(FusedKernel.softmaxXentGrad, { p: p!, targets: ids }, { scale: gradScale / n })[0] as tf.Tensor2D,
  };
}
