// Contiguous Slice and SplitV for the wasm backend as copies inside the heap. tfjs-backend-wasm's
// own kernels first read their whole input out of the heap (readSync copies it) and then copy
// the part: splitting q, k and v out of the attention's [3 B H, T, hd] tensor copied it four
// times per layer. A slice whose elements are contiguous in the input (every dimension before
// the first sliced one has size 1 or is taken whole from a single index) is one copyWithin on
// the heap; anything else goes to the original kernel.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { floatOffset, type WasmHeapBackend } from './blas.ts';

interface Args {
  inputs: Record<string, TensorInfo | undefined>;
  backend: WasmHeapBackend;
  attrs?: NamedAttrMap;
}

/** Copies size elements of x starting at flat element `start` into a new tensor of `shape`, or null when it cannot. */
function copyRange(backend: WasmHeapBackend, x: TensorInfo, start: number, shape: number[]): TensorInfo | null {
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
  const src = floatOffset(backend, x);
  if (src === null) return null;
  const out = backend.makeOutput(shape, x.dtype);
  const dst = floatOffset(backend, out)!;
  // makeOutput may have grown the heap: view it only now (4-byte elements either way).
  const heap = new Int32Array(backend.wasm.HEAPU8.buffer);
  heap.copyWithin(dst, src + start, src + start + tf.util.sizeFromShape(shape));
  return out;
}

function slice(original: KernelConfig, args: Args): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs!.begin as number[], attrs!.size as number[]);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const start = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
    const out = copyRange(backend, x, start, size);
    if (out !== null) return out;
  }
  return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
}

function splitV(original: KernelConfig, args: Args): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const axis = tf.util.parseAxisParam(attrs!.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs!.numOrSizeSplits as number[] | number, axis);
  // Contiguous parts: nothing before the split axis but dimensions of size 1.
  if (x.shape.slice(0, axis).every((d) => d === 1)) {
    const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
    const outs: TensorInfo[] = [];
    let start = 0;
    for (const s of sizes) {
      const shape = [...x.shape];
      shape[axis] = s;
      const out = copyRange(backend, x, start, shape);
      if (out === null) break;
      outs.push(out);
      start += s * inner;
    }
    if (outs.length === sizes.length) return outs;
    for (const o of outs) (backend as unknown as { disposeData(id: object): void }).disposeData(o.dataId);
  }
  return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo[];
}

let originals: KernelConfig[] | null = null;

/** Replaces the wasm Slice and SplitV kernels (idempotent). */
export function registerHeapSlices(): void {
  if (originals !== null) return;
  const found = ['Slice', 'SplitV'].map((name) => tf.getKernel(name, 'wasm'));
  if (found.some((k) => k === undefined)) return;
  originals = found as KernelConfig[];
  const [sliceOriginal, splitOriginal] = originals as [KernelConfig, KernelConfig];
  const funcs: Record<string, KernelFunc> = {
    Slice: ((a: unknown) => slice(sliceOriginal, a as Args)) as unknown as KernelFunc,
    SplitV: ((a: unknown) => splitV(splitOriginal, a as Args)) as unknown as KernelFunc,
  };
  for (const original of originals) {
    tf.unregisterKernel(original.kernelName, 'wasm');
    tf.registerKernel({ ...original, kernelFunc: funcs[original.kernelName]! });
  }
}

/** Puts the original kernels back. */
export function unregisterHeapSlices(): void {
  if (originals === null) return;
  for (const original of originals) {
    tf.unregisterKernel(original.kernelName, 'wasm');
    tf.registerKernel(original);
  }
  originals = null;
}
