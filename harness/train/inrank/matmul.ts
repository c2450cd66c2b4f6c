// Products with a transposed operand for the low-rank layer and the spectra.
//
// By default ('auto') they take the same formulation as the dense layers (ops/matmul.ts): on
// plain tfjs wasm / cpu a matMul with transposeA / transposeB takes a naive kernel (DESIGN.md),
// so the operand is transposed explicitly (blocked) and a plain 2-D product runs; on native
// paths (OpenBLAS, tensorflow) the flags are fast and no copy is made. 'explicit' and 'flags'
// force one formulation (a test compares them on one backend).
import * as tf from '@tensorflow/tfjs-core';
import { mmT, mTm } from '../ops/matmul.ts';

export type TransposeStrategy = 'auto' | 'explicit' | 'flags';

let strategy: TransposeStrategy = 'auto';

export function setTransposeStrategy(next: TransposeStrategy): void {
  strategy = next;
}

export function getTransposeStrategy(): TransposeStrategy {
  return strategy;
}

/** a^T b. */
export function matMulTN(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (strategy === 'auto') return mTm(a, b);
  if (strategy === 'flags') return tf.matMul(a, b, true, false);
  return tf.tidy(() => tf.matMul(tf.transpose(a), b));
}

/** a b^T. */
export function matMulNT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (strategy === 'auto') return mmT(a, b);
  if (strategy === 'flags') return tf.matMul(a, b, false, true);
  return tf.tidy(() => tf.matMul(a, tf.transpose(b)));
}
