// OpenBLAS matmuls for the tfjs wasm backend.
//
// The wasm backend's own BatchMatMul reaches ~16 GFLOP/s for a plain 2-D product but falls
// to ~1 GFLOP/s with a transpose flag or a batch dimension. The optional native addon
// (native/, built at `npm install`) calls cblas_sgemm from the system OpenBLAS directly on
// the wasm heap, so no tensor data is copied. This module loads the addon and registers it
// in place of the wasm `BatchMatMul` and `_FusedMatMul` kernels; anything it does not handle
// (non-float32 data, a bias or prelu weight shape the epilogue cannot broadcast, an unknown
// activation) is passed to the original wasm kernel. Set INRANK_NATIVE_MATMUL=0 to keep the
// wasm kernels. OpenBLAS reads OPENBLAS_NUM_THREADS itself when the library is opened.
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { type BlasAddon, loadBlasAddon, loadedAddon } from './native-addon.ts';
import { registerFusedKernels, unregisterFusedKernels } from './fused-kernels.ts';

export { loadBlasAddon, NATIVE_ADDON_PATH_ENV } from './native-addon.ts';

export type MatmulPath = 'openblas' | 'wasm';

export interface NativeMatmulStatus {
  enabled: boolean;
  path: MatmulPath;
  /** One line for logs and the run's start event: which library and threads, or why not. */
  reason: string;
}

/** The parts of tfjs-backend-wasm's BackendWasm this module reads (they are public fields there). */
export interface WasmHeapBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number | null } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
}

export const NATIVE_MATMUL_ENV = 'INRANK_NATIVE_MATMUL';
const KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;

/** Codes shared with the addon (and with tfjs-backend-wasm's FusableActivation enum). */
const ACTIVATION_CODES: Readonly<Record<string, number>> = {
  linear: 0, relu: 1, relu6: 2, prelu: 3, leakyrelu: 4, sigmoid: 5, elu: 6,
};

/** The wasm kernels replaced by enableNativeMatmul, kept for fallback and for disableNativeMatmul. */
let replaced: Map<string, KernelConfig> | null = null;
let status: NativeMatmulStatus = { enabled: false, path: 'wasm', reason: 'native matmul not enabled yet' };
/** Counts kernel calls by the path that served them; tests and benches read it. */
const calls = { openblas: 0, wasm: 0 };

/** OpenBLAS's thread count (its OPENBLAS_NUM_THREADS unless setBlasThreads changed it). */
export function blasThreads(): number {
  return loadedAddon().getThreads();
}

/** Changes OpenBLAS's thread count for this process (benchmarks compare 1 and 2). */
export function setBlasThreads(threads: number): void {
  loadedAddon().setThreads(threads);
}


/**
 * Registers the OpenBLAS kernels in place of the wasm BatchMatMul and _FusedMatMul.
 * Call after the wasm backend is registered; safe to call when the addon is missing or
 * disabled (returns enabled false with the reason) and safe to call twice.
 */
export function enableNativeMatmul(): NativeMatmulStatus {
  if (replaced !== null) return status;
  if (process.env[NATIVE_MATMUL_ENV] === '0') {
    status = { enabled: false, path: 'wasm', reason: `disabled by ${NATIVE_MATMUL_ENV}=0` };
    return status;
  }
  const state = loadBlasAddon();
  if (!state.loaded) {
    status = { enabled: false, path: 'wasm', reason: state.reason };
    return status;
  }
  const originals = new Map<string, KernelConfig>();
  for (const name of KERNELS) {
    const original = tf.getKernel(name, 'wasm');
    if (original === undefined) {
      status = { enabled: false, path: 'wasm', reason: `the wasm backend has no ${name} kernel registered (import @tensorflow/tfjs-backend-wasm first)` };
      return status;
    }
    originals.set(name, original);
  }
  const addon = loadedAddon();
  const kernels: Record<(typeof KERNELS)[number], KernelFunc> = {
    BatchMatMul: (args) => batchMatMul(addon, args, originals.get('BatchMatMul')!),
    _FusedMatMul: (args) => fusedMatMul(addon, args, originals.get('_FusedMatMul')!),
  };
  for (const name of KERNELS) {
    const original = originals.get(name)!;
    tf.unregisterKernel(name, 'wasm');
    // The original setup stays attached so the fallback still works if the backend re-initialises.
    tf.registerKernel({ ...original, kernelFunc: kernels[name] });
  }
  replaced = originals;
  const fused = registerFusedKernels(addon);
  status = { enabled: true, path: 'openblas', reason: `${state.reason} (${fused.reason}), ${addon.getThreads()} thread(s)` };
  return status;
}

/** Puts the original wasm kernels back (tests compare both paths in one process). */
export function disableNativeMatmul(): NativeMatmulStatus {
  if (replaced !== null) {
    for (const [name, original] of replaced) {
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(original);
    }
    replaced = null;
  }
  unregisterFusedKernels();
  status = { enabled: false, path: 'wasm', reason: 'native matmul disabled' };
  return status;
}

export function nativeMatmulStatus(): NativeMatmulStatus {
  return status;
}

/** How many matmul kernel calls each path has served since the process started. */
export function matmulCallCounts(): { openblas: number; wasm: number } {
  return { ...calls };
}

interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: object;
  attrs?: NamedAttrMap;
}

function fallback(original: KernelConfig, args: Parameters<KernelFunc>[0]): ReturnType<KernelFunc> {
  calls.wasm++;
  return original.kernelFunc(args);
}

function batchMatMul(addon: BlasAddon, args: Parameters<KernelFunc>[0], original: KernelConfig): ReturnType<KernelFunc> {
  const { inputs, backend, attrs } = args as unknown as KernelArgs;
  const a = inputs.a!;
  const b = inputs.b!;
  const out = nativeGemm(addon, backend as WasmHeapBackend, a, b, Boolean(attrs?.transposeA), Boolean(attrs?.transposeB));
  if (out === null) return fallback(original, args);
  calls.openblas++;
  return out;
}

function fusedMatMul(addon: BlasAddon, args: Parameters<KernelFunc>[0], original: KernelConfig): ReturnType<KernelFunc> {
  const { inputs, backend, attrs } = args as unknown as KernelArgs;
  const heapBackend = backend as WasmHeapBackend;
  const a = inputs.a!;
  const b = inputs.b!;
  const activation = ACTIVATION_CODES[String(attrs?.activation ?? 'linear')];
  if (activation === undefined) return fallback(original, args);
  const bias = describeBroadcast(heapBackend, inputs.bias);
  const prelu = describeBroadcast(heapBackend, inputs.preluActivationWeights);
  if (bias === null || prelu === null) return fallback(original, args);
  if (activation === ACTIVATION_CODES.prelu && prelu.offset < 0) return fallback(original, args);

  const transA = Boolean(attrs?.transposeA);
  const transB = Boolean(attrs?.transposeB);
  const m = transA ? a.shape[a.shape.length - 1]! : a.shape[a.shape.length - 2]!;
  const n = transB ? b.shape[b.shape.length - 2]! : b.shape[b.shape.length - 1]!;
  if (!fitsOutput(bias, m, n) || !fitsOutput(prelu, m, n)) return fallback(original, args);
  const out = nativeGemm(addon, heapBackend, a, b, transA, transB);
  if (out === null) return fallback(original, args);
  const batch = tf.util.sizeFromShape(out.shape.slice(0, -2));
  // No allocation happens between makeOutput (inside nativeGemm) and here, so the heap is current.
  addon.epilogue(heapBuffer(heapBackend), floatOffset(heapBackend, out)!, batch, m, n,
    bias.offset, bias.rows, bias.cols, activation, prelu.offset, prelu.rows, prelu.cols,
    Number(attrs?.leakyreluAlpha ?? 0));
  calls.openblas++;
  return out;
}

/** A bias or prelu-weights tensor seen as a [rows, cols] block broadcast over each output matrix. */
interface Broadcast2D { offset: number; rows: number; cols: number }

/**
 * Describes `x` (right-aligned against the output, as tfjs broadcasts it) as a [rows, cols]
 * block; null when it cannot be (leading dimensions other than 1, not float32), so the caller
 * falls back.
 */
function describeBroadcast(backend: WasmHeapBackend, x: TensorInfo | undefined): Broadcast2D | null {
  if (x === undefined || x === null) return { offset: -1, rows: 1, cols: 1 };
  if (x.dtype !== 'float32') return null;
  const shape = x.shape;
  if (shape.slice(0, -2).some((d) => d !== 1)) return null;
  const offset = floatOffset(backend, x);
  if (offset === null) return null;
  const cols = shape.length >= 1 ? shape[shape.length - 1]! : 1;
  const rows = shape.length >= 2 ? shape[shape.length - 2]! : 1;
  return { offset, rows, cols };
}

function fitsOutput(x: Broadcast2D, m: number, n: number): boolean {
  return x.offset < 0 || ((x.rows === 1 || x.rows === m) && (x.cols === 1 || x.cols === n));
}

export function heapBuffer(backend: WasmHeapBackend): ArrayBuffer {
  return backend.wasm.HEAPU8.buffer as ArrayBuffer;
}

/** The tensor's position on the wasm heap in floats, or null when it has none usable. */
export function floatOffset(backend: WasmHeapBackend, x: TensorInfo): number | null {
  const bytes = backend.dataIdMap.get(x.dataId)?.memoryOffset;
  if (bytes === null || bytes === undefined || bytes % 4 !== 0) return null;
  return bytes / 4;
}

/**
 * out = op(a) · op(b) over the broadcast batch dimensions, computed by cblas_sgemm on the wasm
 * heap. Returns null (nothing allocated) for what it does not handle, so the caller falls back.
 */
function nativeGemm(addon: BlasAddon, backend: WasmHeapBackend, a: TensorInfo, b: TensorInfo,
  transA: boolean, transB: boolean): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (!(backend.wasm?.HEAPU8?.buffer instanceof ArrayBuffer)) return null; // threaded wasm: shared memory
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) return null;
  const m = transA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
  const kA = transA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
  const kB = transB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
  const n = transB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
  if (kA !== kB) return null; // the wasm kernel reports the shape error in tfjs's words
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  let outBatchShape: number[];
  try {
    outBatchShape = tf.broadcast_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  } catch {
    return null;
  }
  const aBase = floatOffset(backend, a);
  const bBase = floatOffset(backend, b);
  if (aBase === null || bBase === null) return null;
  const batch = tf.util.sizeFromShape(outBatchShape);
  const bBatch = tf.util.sizeFromShape(bBatchShape);

  const out = backend.makeOutput([...outBatchShape, m, n], 'float32');
  const cOffset = floatOffset(backend, out)!;
  // makeOutput may have grown the heap, which replaces its ArrayBuffer: read it only now.
  const heap = heapBuffer(backend);
  if (bBatch === 1 && !transA && batch > 1) {
    // Every A slice meets the same B and the slices lie back to back: one tall product.
    addon.gemm(heap, false, transB, m * batch, n, kA, Float64Array.of(aBase), Float64Array.of(bBase), cOffset);
  } else {
    const [aOffsets, bOffsets] = batchOffsets(outBatchShape, aBatchShape, bBatchShape, aBase, m * kA, bBase, kA * n);
    addon.gemm(heap, transA, transB, m, n, kA, aOffsets, bOffsets, cOffset);
  }
  return out;
}

/**
 * For each output batch index (row-major over outShape), the float offset of the A and B
 * matrices it reads, with numpy broadcasting: a size-1 dimension repeats its one slice.
 */
function batchOffsets(outShape: number[], aShape: number[], bShape: number[], aBase: number,
  aMatrix: number, bBase: number, bMatrix: number): [Float64Array, Float64Array] {
  const rank = outShape.length;
  const aStrides = broadcastStrides(aShape, rank, aMatrix);
  const bStrides = broadcastStrides(bShape, rank, bMatrix);
  const total = tf.util.sizeFromShape(outShape);
  const aOffsets = new Float64Array(total);
  const bOffsets = new Float64Array(total);
  const index = new Array<number>(rank).fill(0);
  let aAt = aBase;
  let bAt = bBase;
  for (let i = 0; i < total; i++) {
    aOffsets[i] = aAt;
    bOffsets[i] = bAt;
    // Odometer increment of the multi-index, updating both offsets incrementally.
    for (let d = rank - 1; d >= 0; d--) {
      index[d]!++;
      aAt += aStrides[d]!;
      bAt += bStrides[d]!;
      if (index[d]! < outShape[d]!) break;
      aAt -= aStrides[d]! * outShape[d]!;
      bAt -= bStrides[d]! * outShape[d]!;
      index[d] = 0;
    }
  }
  return [aOffsets, bOffsets];
}

/** Strides (in floats) of an operand's batch dims right-aligned to `rank`; 0 where it broadcasts. */
function broadcastStrides(shape: number[], rank: number, matrixSize: number): number[] {
  const strides = new Array<number>(rank).fill(0);
  let stride = matrixSize;
  for (let d = shape.length - 1; d >= 0; d--) {
    const outDim = rank - shape.length + d;
    strides[outDim] = shape[d] === 1 ? 0 : stride;
    stride *= shape[d]!;
  }
  return strides;
}
