// The wasm backend's float32 tensors as places in its heap, for host-side ops that only move rows
// (the embedding's gather and scatter-add): they work in the heap itself, where reading a tensor
// out (readSync copies it) and uploading a new one (tf.tensor copies it in) would cost two copies
// of the whole table a step and a fresh JavaScript array for the collector.
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { floatOffset, heapBuffer, type WasmHeapBackend } from './blas.ts';

export interface HeapPlaces {
  heap: Float32Array;
  /** Each tensor's first float in heap, in the order given. */
  at: number[];
}

/**
 * The heap and where each tensor starts in it; null off the wasm backend or when a tensor is not
 * float32 or has no place there. Call it again after allocating: the heap may grow (and move).
 */
export function heapPlaces(tensors: tf.Tensor[]): HeapPlaces | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as WasmHeapBackend;
  const at: number[] = [];
  for (const t of tensors) {
    const offset = t.dtype === 'float32' ? floatOffset(backend, t as unknown as TensorInfo) : null;
    if (offset === null) return null;
    at.push(offset);
  }
  return { heap: new Float32Array(heapBuffer(backend)), at };
}
