// LayerNorm over the last axis (eps 1e-5 as GPT-2), with its explicit gradient.
import * as tf from '@tensorflow/tfjs-core';
import { colSum } from './matmul.ts';
import { addGrad, type Forward } from './grads.ts';
import { FusedKernel, hasFused, runFused } from './fused.ts';

export const LN_EPS = 1e-5;

export function layerNorm(
  x: tf.Tensor2D,
  weight: tf.Tensor1D,
  bias: tf.Tensor1D,
  grads: Map<string, tf.Tensor>,
  names: { weight: string; bias: string },
): Forward {
  if (hasFused(FusedKernel.layerNorm)) return fusedLayerNorm(x, weight, bias, grads, names);
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  const rstd = tf.rsqrt(tf.add(variance, LN_EPS));
  const xhat = tf.mul(xc, rstd) as tf.Tensor2D;
  const y = tf.add(tf.mul(xhat, weight), bias) as tf.Tensor2D;
  return {
    y,
    backward(dy: tf.Tensor2D): tf.Tensor2D {
      addGrad(grads, names.weight, colSum(tf.mul(dy, xhat) as tf.Tensor2D));
      addGrad(grads, names.bias, colSum(dy));
      const dxhat = tf.mul(dy, weight);
      // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
      const m1 = tf.mean(dxhat, -1, true);
      const m2 = tf.mean(tf.mul(dxhat, xhat), -1, true);
      return tf.mul(tf.sub(tf.sub(dxhat, m1), tf.mul(xhat, m2)), rstd) as tf.Tensor2D;
    },
  };
}

/** The same forward and gradients in one kernel each (ops/fused.ts); keeps x and the row statistics for backward. */
function fusedLayerNorm(x: tf.Tensor2D, weight: tf.Tensor1D, bias: tf.Tensor1D, grads: Map<string, tf.Tensor>,
  names: { weight: string; bias: string }): Forward {
  const [y, stats] = runFused(FusedKernel.layerNorm, { x, weight, bias }, { eps: LN_EPS });
  return {
    y: y as tf.Tensor2D,
    backward(dy: tf.Tensor2D): tf.Tensor2D {
      const [dx, dw, db] = runFused(FusedKernel.layerNormGrad, { dy, x, weight, stats: stats! });
      addGrad(grads, names.weight, dw!);
      addGrad(grads, names.bias, db!);
      return dx as tf.Tensor2D;
    },
  };
}
