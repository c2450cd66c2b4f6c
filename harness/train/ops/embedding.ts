// Token-embedding lookup and its gradient. On plain wasm / cpu the gather and its gradient
// (UnsortedSegmentSum, which has no wasm kernel) run on the host: one read of the table or of
// the gradient rows and a row copy / scatter-add, far cheaper than a one-hot matMul
// (vocab x tokens x n_embd multiply-adds). The OpenBLAS path keeps its tensors in the same wasm
// heap, so it takes the host path too. Device paths use tf.gather and a one-hot product.
import * as tf from '@tensorflow/tfjs-core';
import { matmulPath, preferPlainMatmul } from '../backend/select.ts';
import { mTm } from './matmul.ts';

/** Tensors live in host memory here (wasm heap or JavaScript arrays): a read is a copy, not a transfer. */
function onHost(): boolean {
  return preferPlainMatmul() || matmulPath() === 'openblas';
}

export function embeddingLookup(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [vocab, c] = table.shape;
  for (const id of ids) if (id < 0 || id >= vocab) throw new Error(`token id ${id} outside the vocabulary (${vocab})`);
  if (!onHost()) return tf.gather(table, tf.tensor1d(ids, 'int32'));
  const data = table.dataSync() as Float32Array;
  const out = new Float32Array(ids.length * c);
  for (let i = 0; i < ids.length; i++) out.set(data.subarray(ids[i]! * c, ids[i]! * c + c), i * c);
  return tf.tensor2d(out, [ids.length, c]);
}

/** dL/dtable [vocab, C] from dL/dout [tokens, C]: row i of dout adds into row ids[i]. */
export function embeddingGrad(dout: tf.Tensor2D, ids: Int32Array, vocab: number): tf.Tensor2D {
  const c = dout.shape[1];
  if (!onHost()) return mTm(tf.cast(tf.oneHot(tf.tensor1d(ids, 'int32'), vocab), 'float32') as tf.Tensor2D, dout);
  const d = dout.dataSync() as Float32Array;
  const g = new Float32Array(vocab * c);
  for (let i = 0; i < ids.length; i++) {
    const src = i * c;
    const dst = ids[i]! * c;
    for (let j = 0; j < c; j++) g[dst + j]! += d[src + j]!;
  }
  return tf.tensor2d(g, [vocab, c]);
}
