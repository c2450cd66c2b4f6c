// GELU, tanh approximation (GPT-2's "gelu_new"). 0.5 (1 + tanh(z)) equals sigmoid(2z), and the
// sigmoid kernel is several times faster than tanh on wasm; x^3 is x*x*x (pow is slow).
import * as tf from '@tensorflow/tfjs-core';
import type { Forward } from './grads.ts';
import { FusedKernel, hasFused, runFused } from './fused.ts';

const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

export function gelu(x: tf.Tensor2D): Forward {
  if (hasFused(FusedKernel.gelu)) return fusedGelu(x);
  const x2 = tf.square(x);
  const inner = tf.mul(x, tf.add(tf.mul(x2, A), 1)); // x + a x^3
  const s = tf.sigmoid(tf.mul(inner, 2 * C));
  const y = tf.mul(x, s) as tf.Tensor2D;
  return {
    y,
    backward(dy: tf.Tensor2D): tf.Tensor2D {
      // d/dx [x s(u)] = s + x s (1 - s) u',  u = 2c(x + a x^3),  u' = 2c(1 + 3a x^2)
      const du = tf.mul(tf.add(tf.mul(x2, 3 * A), 1), 2 * C);
      const ds = tf.mul(s, tf.sub(1, s));
      return tf.mul(dy, tf.add(s, tf.mul(tf.mul(x, ds), du))) as tf.Tensor2D;
    },
  };
}

/** The same function and gradient in one kernel each (ops/fused.ts); only x is kept for backward. */
function fusedGelu(x: tf.Tensor2D): Forward {
  return {
    y: runFused(FusedKernel.gelu, { x })[0] as tf.Tensor2D,
    backward: (dy: tf.Tensor2D): tf.Tensor2D => runFused(FusedKernel.geluGrad, { x, dy })[0] as tf.Tensor2D,
  };
}
