// Batched matrix products for attention. Native paths use tf.matMul on 3-D tensors directly. On
// plain wasm / cpu a batched matMul runs about 1 GFLOP/s while the same work as per-slice 2-D
// products runs about 6-10 (DESIGN.md): split on the host (one read per operand), multiply per
// slice, stack back.
import * as tf from '@tensorflow/tfjs-core';
import { preferPlainMatmul } from '../backend/select.ts';
import { splitRows } from './matmul.ts';

/** op(a) @ op(b) per batch entry; a: [n, m, k] (or [n, k, m] with transA), b: [n, k, p] (or [n, p, k] with transB). */
export function bmm(a: tf.Tensor3D, b: tf.Tensor3D, transA = false, transB = false): tf.Tensor3D {
  if (!preferPlainMatmul()) return tf.matMul(a, b, transA, transB);
  return tf.tidy(() => {
    const at = transA ? tf.transpose(a, [0, 2, 1]) : a; // 3-D [0,2,1] is a fast wasm transpose
    const bt = transB ? tf.transpose(b, [0, 2, 1]) : b;
    const [n, m, k] = at.shape;
    const p = bt.shape[2];
    const as = splitRows(at, n, m, k);
    const bs = splitRows(bt, n, k, p);
    const outs = as.map((ai, i) => tf.matMul(ai, bs[i]!));
    return tf.stack(outs) as tf.Tensor3D;
  });
}
