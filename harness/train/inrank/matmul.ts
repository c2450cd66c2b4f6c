// Products with a transposed operand, behind one switch.
//
// On the tfjs wasm backend a 2-D matMul without transpose flags is the fast path,
// an explicit 2-D tf.transpose is cheap, and matMul with transposeA / transposeB takes
// a naive kernel (DESIGN.md). A native BLAS kernel registered for BatchMatMul makes the
// flags fast; the code that installs it calls setTransposeStrategy('flags').
import * as tf from '@tensorflow/tfjs-core';

export type TransposeStrategy = 'explicit' | 'flags';

let strategy: TransposeStrategy = 'explicit';

export function setTransposeStrategy(next: TransposeStrategy): void {
  strategy = next;
}

export function getTransposeStrategy(): TransposeStrategy {
  return strategy;
}

/** a^T b. Transpose the operand that is cheaper to move when transposing explicitly. */
export function matMulTN(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (strategy === 'flags') return tf.matMul(a, b, true, false);
  return tf.tidy(() => tf.matMul(tf.transpose(a), b));
}

/** a b^T. */
export function matMulNT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (strategy === 'flags') return tf.matMul(a, b, false, true);
  return tf.tidy(() => tf.matMul(a, tf.transpose(b)));
}
