// Matrix products in the formulation that is fast on the current matmul path. On plain wasm / cpu
// a matMul with transpose flags takes a naive kernel (DESIGN.md), so the flags become explicit
// (blocked) transposes and a plain 2-D product; on native paths (tensorflow, openblas) the flags
// are fast and no copy is made.
import * as tf from '@tensorflow/tfjs-core';
import { preferPlainMatmul } from '../backend/select.ts';

const BLOCK = 32;

/**
 * x^T for a 2-D tensor. The wasm Transpose kernel is slow on large 2-D matrices (strided
 * writes) but fast on 4-D [0,2,1,3] and 3-D [0,2,1] permutations of small blocks: a
 * blocked transpose built from those is about twice as fast.
 */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  const [m, n] = x.shape;
  if (!preferPlainMatmul() || m % BLOCK !== 0 || n % BLOCK !== 0 || m * n < 65536) return tf.transpose(x);
  return tf.tidy(() => {
    const mb = m / BLOCK;
    const nb = n / BLOCK;
    const blocks = tf.transpose(tf.reshape(x, [mb, BLOCK, nb, BLOCK]), [0, 2, 1, 3]); // [mb, nb, b, b]
    const inner = tf.transpose(tf.reshape(blocks, [mb * nb, BLOCK, BLOCK]), [0, 2, 1]); // each block transposed
    return tf.reshape(tf.transpose(tf.reshape(inner, [mb, n, BLOCK]), [1, 0, 2]), [n, m]);
  });
}

/**
 * a @ op(b) + bias. Where matmuls are native (OpenBLAS, device backends) one _FusedMatMul kernel
 * adds the bias as the product is written (the OpenBLAS path's epilogue) instead of a separate
 * pass over the output; on plain wasm / cpu, the product of mm / mmT and an add.
 */
export function mmBias(a: tf.Tensor2D, b: tf.Tensor2D, bias: tf.Tensor1D, transposeB = false): tf.Tensor2D {
  if (!preferPlainMatmul()) return tf.fused.matMul({ a, b, bias, transposeB }) as tf.Tensor2D;
  return tf.tidy(() => tf.add(transposeB ? mmT(a, b) : mm(a, b), bias) as tf.Tensor2D);
}

/** a @ b. */
export function mm(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(a, b);
}

/** a @ b^T. */
export function mmT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!preferPlainMatmul()) return tf.matMul(a, b, false, true);
  return tf.tidy(() => tf.matMul(a, transpose2d(b)));
}

/** a^T @ b: transposes whichever side copies fewer floats (a, or b and the result). */
export function mTm(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!preferPlainMatmul()) return tf.matMul(a, b, true, false);
  const [k, m] = a.shape;
  const n = b.shape[1];
  return tf.tidy(() => {
    if (k * m <= k * n + m * n) return tf.matMul(transpose2d(a), b);
    return transpose2d(tf.matMul(transpose2d(b), a));
  });
}

/** Column sums of a 2-D tensor as a 1-D tensor: a ones-row product, far faster than sum(axis 0) on wasm. */
export function colSum(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.reshape(tf.matMul(tf.ones([1, x.shape[0]]), x), [x.shape[1]]));
}

/**
 * Splits x [n * rows, cols] into n tensors [rows, cols] with one host read. tfjs-wasm's Slice
 * copies its whole input on every call, so n slices cost n full copies; this costs one.
 */
export function splitRows(x: tf.Tensor, n: number, rows: number, cols: number): tf.Tensor2D[] {
  const data = x.dataSync() as Float32Array;
  const size = rows * cols;
  const out: tf.Tensor2D[] = [];
  for (let i = 0; i < n; i++) out.push(tf.tensor2d(data.subarray(i * size, (i + 1) * size), [rows, cols]));
  return out;
}
