// Token-embedding lookup and its gradient. On plain wasm / cpu the gather and its gradient
// (UnsortedSegmentSum, which has no wasm kernel) run on the host: one read of the table or of
// the gradient rows and a row copy / scatter-add, far cheaper than a one-hot matMul
// (vocab x tokens x n_embd multiply-adds). The OpenBLAS path keeps its tensors in the same wasm
// heap, so it takes the host path too; on wasm the rows move inside the heap (backend/wasm-heap.ts).
// Device paths use tf.gather and a one-hot product.
import * as tf from '@tensorflow/tfjs-core';
import { matmulPath, preferPlainMatmul } from '../backend/select.ts';
import { heapPlaces } from '../backend/wasm-heap.ts';
import { mTm } from './matmul.ts';

/** Tensors live in host memory here (wasm heap or JavaScript arrays): a read is a copy, not a transfer. */
function onHost(): boolean {
  return preferPlainMatmul() || matmulPath() === 'openblas';
}

export function embeddingLookup(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [vocab, c] = table.shape;
  for (const id of ids) if (id < 0 || id >= vocab) throw new Error(`token id ${id} outside the vocabulary (${vocab})`);
  if (!onHost()) return tf.gather(table, tf.tensor1d(ids, 'int32'));
  const inHeap = lookupInHeap(table, ids);
  if (inHeap !== null) return inHeap;
  const data = table.dataSync() as Float32Array;
  const out = new Float32Array(ids.length * c);
  for (let i = 0; i < ids.length; i++) out.set(data.subarray(ids[i]! * c, ids[i]! * c + c), i * c);
  return tf.tensor2d(out, [ids.length, c]);
}

/** dL/dtable [vocab, C] from dL/dout [tokens, C]: row i of dout adds into row ids[i]. */
export function embeddingGrad(dout: tf.Tensor2D, ids: Int32Array, vocab: number): tf.Tensor2D {
  const c = dout.shape[1];
  if (!onHost()) return mTm(tf.cast(tf.oneHot(tf.tensor1d(ids, 'int32'), vocab), 'float32') as tf.Tensor2D, dout);
  const inHeap = gradInHeap(dout, ids, vocab);
  if (inHeap !== null) return inHeap;
  const g = new Float32Array(vocab * c);
  scatterAdd(dout.dataSync() as Float32Array, 0, g, 0, ids, c);
  return tf.tensor2d(g, [vocab, c]);
}

/** Row i of d (from dAt) adds into row ids[i] of g (from gAt), in token order. */
function scatterAdd(d: Float32Array, dAt: number, g: Float32Array, gAt: number, ids: Int32Array, c: number): void {
  for (let i = 0; i < ids.length; i++) {
    const src = dAt + i * c;
    const dst = gAt + ids[i]! * c;
    for (let j = 0; j < c; j++) g[dst + j]! += d[src + j]!;
  }
}

/** The lookup as row copies inside the wasm heap; null where the tensors are not there. */
function lookupInHeap(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D | null {
  if (heapPlaces([table]) === null) return null;
  const c = table.shape[1];
  const out = tf.fill([ids.length, c], 0, 'float32') as tf.Tensor2D; // the wasm Fill kernel: no JavaScript array
  const places = heapPlaces([table, out]); // after the allocation: the heap may have grown
  if (places === null) return disposed(out);
  const { heap, at: [src, dst] } = places;
  for (let i = 0; i < ids.length; i++) heap.copyWithin(dst! + i * c, src! + ids[i]! * c, src! + ids[i]! * c + c);
  return out;
}

/** The gradient scattered inside the wasm heap, the same additions in the same order; null where dout is not there. */
function gradInHeap(dout: tf.Tensor2D, ids: Int32Array, vocab: number): tf.Tensor2D | null {
  if (heapPlaces([dout]) === null) return null;
  const c = dout.shape[1];
  const g = tf.fill([vocab, c], 0, 'float32') as tf.Tensor2D;
  const places = heapPlaces([dout, g]);
  if (places === null) return disposed(g);
  scatterAdd(places.heap, places.at[0]!, places.heap, places.at[1]!, ids, c);
  return g;
}

/** null, after disposing a tensor the heap path made but could not place (the caller then takes the JavaScript path). */
function disposed(t: tf.Tensor): null {
  t.dispose();
  return null;
}
