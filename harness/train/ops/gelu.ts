// GELU, both forms: the tanh approximation (GPT-2's "gelu_new", what HF GPT-2 and so the
// reference's full-rank baseline use) and exact erf (torch's nn.GELU(), what the reference's
// own GPT-2 with its custom MLP uses for fixed rank and InRank).
import * as tf from '@tensorflow/tfjs-core';
import type { GeluKind } from '../../contract/config.ts';
import type { Forward } from './grads.ts';
import { FusedKernel, hasFused, runFused } from './fused.ts';

const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/** Tanh form. 0.5 (1 + tanh(z)) equals sigmoid(2z), several times faster than tanh on wasm; x^3 is x*x*x (pow is slow). */
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

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Exact form: x Phi(x) with Phi(x) = 0.5 (1 + erf(x / sqrt 2)). */
export function geluExact(x: tf.Tensor2D): Forward {
  if (hasFused(FusedKernel.geluExact) && hasFused(FusedKernel.geluExactGrad)) {
    // One kernel each way (the native addon: a vectorized erfc fit, relative error about 1e-7),
    // instead of 5 generic kernels forward and 7 backward with a scalar erf and exp.
    return {
      y: runFused(FusedKernel.geluExact, { x })[0] as tf.Tensor2D,
      backward: (dy: tf.Tensor2D): tf.Tensor2D => runFused(FusedKernel.geluExactGrad, { x, dy })[0] as tf.Tensor2D,
    };
  }
  const phi = tf.mul(tf.add(tf.erf(tf.mul(x, SQRT1_2)), 1), 0.5); // the normal CDF at x
  const y = tf.mul(x, phi) as tf.Tensor2D;
  return {
    y,
    backward(dy: tf.Tensor2D): tf.Tensor2D {
      // d/dx [x Phi(x)] = Phi(x) + x pdf(x),  pdf(x) = exp(-x^2 / 2) / sqrt(2 pi)
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), INV_SQRT_2PI);
      return tf.mul(dy, tf.add(phi, tf.mul(x, pdf))) as tf.Tensor2D;
    },
  };
}

/** The GELU of a kind (contract/config.ts resolveActivation picks it for a run). */
export function geluOf(kind: GeluKind): (x: tf.Tensor2D) => Forward {
  return kind === 'gelu-exact' ? geluExact : gelu;
}

/**
 * The same function and gradient in one kernel each (ops/fused.ts). Where the backend has the
 * saving pair, the forward also keeps its sigmoid for backward (one more tensor of x's size, and
 * a backward without exp); else only x is kept.
 */
function fusedGelu(x: tf.Tensor2D): Forward {
  if (hasFused(FusedKernel.geluSaved) && hasFused(FusedKernel.geluSavedGrad)) {
    const [y, s] = runFused(FusedKernel.geluSaved, { x }) as [tf.Tensor2D, tf.Tensor2D];
    return { y, backward: (dy: tf.Tensor2D): tf.Tensor2D => runFused(FusedKernel.geluSavedGrad, { x, s, dy })[0] as tf.Tensor2D };
  }
  return {
    y: runFused(FusedKernel.gelu, { x })[0] as tf.Tensor2D,
    backward: (dy: tf.Tensor2D): tf.Tensor2D => runFused(FusedKernel.geluGrad, { x, dy })[0] as tf.Tensor2D,
  };
}
