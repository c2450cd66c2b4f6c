// Registers the native addon's fused elementwise kernels (native/src/fused.cc) as tfjs kernels of
// the wasm backend, under the names harness/train/ops/fused.ts looks for. Inputs are read and
// outputs written in place on the wasm heap, as the OpenBLAS matmul does. enableNativeMatmul
// calls this; INRANK_FUSED_KERNELS=0 keeps the generic kernels (tests compare both).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { FusedKernel, type FusedKernelName } from '../ops/fused.ts';
import type { BlasAddon } from './native-addon.ts';
import { floatOffset, heapBuffer, type WasmHeapBackend } from './blas.ts';
import { registerHeapSlices, unregisterHeapSlices } from './wasm-slices.ts';
import { registerHeadKernels, unregisterHeadKernels } from './head-kernels.ts';

export const FUSED_KERNELS_ENV = 'INRANK_FUSED_KERNELS';

/** Op codes of fused.cc. */
const Op = { geluFwd: 0, geluBwd: 1, layerNormFwd: 2, layerNormBwd: 3, adamW: 4, sumSquares: 5, softmaxXentFwd: 6, softmaxXentBwd: 7, dropoutMask: 8, causalSoftmax: 9, softmaxGrad: 10, dropoutApply: 11, dropoutAdd: 12, geluExactFwd: 14, geluExactBwd: 15, geluSavedFwd: 16, geluSavedBwd: 17, causalDropout: 18, causalSoftmaxGrad: 19 } as const;

interface Args {
  inputs: Record<string, TensorInfo | undefined>;
  backend: WasmHeapBackend;
  attrs?: NamedAttrMap;
}

/**
 * Allocates the outputs, then runs op over inputs and outputs (the heap is read after allocation:
 * it may grow). Inputs are float32 except those whose index is in intInputs (int32).
 */
function launch(addon: BlasAddon, backend: WasmHeapBackend, op: number, inputs: TensorInfo[],
  outShapes: number[][], params: number[], intInputs: number[] = []): TensorInfo[] {
  inputs.forEach((x, i) => {
    const want = intInputs.includes(i) ? 'int32' : 'float32';
    if (x.dtype !== want) throw new Error(`fused kernel ${op}: input ${i} must be ${want} (got ${x.dtype})`);
  });
  const outs = outShapes.map((shape) => backend.makeOutput(shape, 'float32'));
  const offsets = [...inputs, ...outs].map((t) => {
    const at = floatOffset(backend, t);
    if (at === null) throw new Error(`fused kernel ${op}: a tensor has no place on the wasm heap`);
    return at;
  });
  addon.fused!(heapBuffer(backend), op, Float64Array.from(offsets), Float64Array.from(params));
  return outs;
}

/**
 * One scalar for any number of tensors (the global gradient norm's square: 2 generic kernels per
 * parameter and an AddN before). Each tensor's squares are summed in double by the addon, and the
 * tensors' sums in double here; only the result is rounded to float32.
 */
function sumSquares(addon: BlasAddon, backend: WasmHeapBackend, inputs: (TensorInfo | undefined)[]): TensorInfo {
  const out = backend.makeOutput([], 'float32');
  let total = 0;
  for (const x of inputs) {
    if (x === undefined) continue;
    if (x.dtype !== 'float32') throw new Error(`fused sumSquares: inputs must be float32 (got ${x.dtype})`);
    const n = tf.util.sizeFromShape(x.shape);
    if (n === 0) continue;
    const at = floatOffset(backend, x);
    if (at === null) throw new Error('fused sumSquares: a tensor has no place on the wasm heap');
    total += addon.fused!(heapBuffer(backend), Op.sumSquares, Float64Array.of(at), Float64Array.of(n)) as number;
  }
  new Float32Array(heapBuffer(backend), floatOffset(backend, out)! * 4, 1)[0] = total;
  return out;
}

const num = (attrs: NamedAttrMap | undefined, key: string): number => Number(attrs?.[key]);

type KernelFuncs = Record<string, (a: Args) => TensorInfo | TensorInfo[]>;

/** GELU (tanh, tanh keeping its sigmoid, exact erf) and dropout: one element at a time. */
function elementwiseKernels(addon: BlasAddon): KernelFuncs {
  const n = (x: TensorInfo): number => tf.util.sizeFromShape(x.shape);
  return {
    [FusedKernel.gelu]: ({ inputs, backend }) => {
      const x = inputs.x!;
      return launch(addon, backend, Op.geluFwd, [x], [x.shape], [n(x)])[0]!;
    },
    [FusedKernel.geluGrad]: ({ inputs, backend }) => {
      const x = inputs.x!;
      return launch(addon, backend, Op.geluBwd, [x, inputs.dy!], [x.shape], [n(x)])[0]!;
    },
    [FusedKernel.geluSaved]: ({ inputs, backend }) => {
      const x = inputs.x!;
      return launch(addon, backend, Op.geluSavedFwd, [x], [x.shape, x.shape], [n(x)]);
    },
    [FusedKernel.geluSavedGrad]: ({ inputs, backend }) => {
      const x = inputs.x!;
      return launch(addon, backend, Op.geluSavedBwd, [x, inputs.s!, inputs.dy!], [x.shape], [n(x)])[0]!;
    },
    [FusedKernel.geluExact]: ({ inputs, backend }) => {
      const x = inputs.x!;
      return launch(addon, backend, Op.geluExactFwd, [x], [x.shape], [n(x)])[0]!;
    },
    [FusedKernel.geluExactGrad]: ({ inputs, backend }) => {
      const x = inputs.x!;
      return launch(addon, backend, Op.geluExactBwd, [x, inputs.dy!], [x.shape], [n(x)])[0]!;
    },
    [FusedKernel.dropoutMask]: ({ backend, attrs }) => {
      const shape = attrs?.shape as number[];
      const p = num(attrs, 'p');
      return launch(addon, backend, Op.dropoutMask, [], [shape], [tf.util.sizeFromShape(shape), num(attrs, 'key'), p, 1 / (1 - p)])[0]!;
    },
    [FusedKernel.dropoutApply]: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const p = num(attrs, 'p');
      return launch(addon, backend, Op.dropoutApply, [x], [x.shape], [n(x), num(attrs, 'key'), p, 1 / (1 - p)])[0]!;
    },
    [FusedKernel.dropoutAdd]: ({ inputs, backend, attrs }) => {
      const base = inputs.base!;
      const x = inputs.x!;
      if (!tf.util.arraysEqual(base.shape, x.shape)) throw new Error(`fused dropoutAdd: base [${base.shape}] and x [${x.shape}] differ`);
      const p = num(attrs, 'p');
      return launch(addon, backend, Op.dropoutAdd, [base, x], [x.shape], [n(x), num(attrs, 'key'), p, 1 / (1 - p)])[0]!;
    },
  };
}

/** LayerNorm, the cross-entropy, AdamW and the sum of squares: rows and reductions. */
function rowKernels(addon: BlasAddon): KernelFuncs {
  return {
    [FusedKernel.layerNorm]: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const [rows, cols] = x.shape as [number, number];
      return launch(addon, backend, Op.layerNormFwd, [x, inputs.weight!, inputs.bias!], [x.shape, [2, rows]], [rows, cols, num(attrs, 'eps')]);
    },
    [FusedKernel.layerNormGrad]: ({ inputs, backend }) => {
      const x = inputs.x!;
      const [rows, cols] = x.shape as [number, number];
      return launch(addon, backend, Op.layerNormBwd, [inputs.dy!, x, inputs.weight!, inputs.stats!], [x.shape, [cols], [cols]], [rows, cols]);
    },
    [FusedKernel.adamW]: ({ inputs, backend, attrs }) => {
      const p = inputs.param!;
      const keys = ['lr', 'beta1', 'beta2', 'eps', 'decay', 'bc1', 'bc2Sqrt', 'gradMultiplier'];
      return launch(addon, backend, Op.adamW, [p, inputs.grad!, inputs.m!, inputs.v!], [p.shape, p.shape, p.shape],
        [tf.util.sizeFromShape(p.shape), ...keys.map((k) => num(attrs, k))]);
    },
    [FusedKernel.softmaxXent]: ({ inputs, backend, attrs }) => {
      const logits = inputs.logits!;
      const [n, v] = logits.shape as [number, number];
      return launch(addon, backend, Op.softmaxXentFwd, [logits, inputs.targets!], [logits.shape, []], [n, v, num(attrs, 'floor')], [1]);
    },
    [FusedKernel.softmaxXentGrad]: ({ inputs, backend, attrs }) => {
      const p = inputs.p!;
      const [n, v] = p.shape as [number, number];
      return launch(addon, backend, Op.softmaxXentBwd, [p, inputs.targets!], [p.shape], [n, v, num(attrs, 'scale')], [1])[0]!;
    },
    [FusedKernel.sumSquares]: ({ inputs, backend }) => sumSquares(addon, backend, Object.values(inputs)),
  };
}

/** The attention's rows: the causal softmax, its gradients and the causal dropout. */
function attentionRowKernels(addon: BlasAddon): KernelFuncs {
  return {
    [FusedKernel.causalSoftmax]: ({ inputs, backend }) => {
      const x = inputs.x!;
      const t = x.shape[x.shape.length - 1]!;
      return launch(addon, backend, Op.causalSoftmax, [x], [x.shape], [tf.util.sizeFromShape(x.shape) / t, t])[0]!;
    },
    [FusedKernel.softmaxGrad]: ({ inputs, backend, attrs }) => {
      const p = inputs.p!;
      const cols = p.shape[p.shape.length - 1]!;
      return launch(addon, backend, Op.softmaxGrad, [p, inputs.dp!], [p.shape], [tf.util.sizeFromShape(p.shape) / cols, cols, num(attrs, 'scale')])[0]!;
    },
    [FusedKernel.causalSoftmaxGrad]: ({ inputs, backend, attrs }) => {
      const p = inputs.p!;
      const t = p.shape[p.shape.length - 1]!;
      return launch(addon, backend, Op.causalSoftmaxGrad, [p, inputs.dp!], [p.shape], [tf.util.sizeFromShape(p.shape) / t, t, num(attrs, 'scale')])[0]!;
    },
    [FusedKernel.causalDropout]: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const t = x.shape[x.shape.length - 1]!;
      const p = num(attrs, 'p');
      return launch(addon, backend, Op.causalDropout, [x], [x.shape], [tf.util.sizeFromShape(x.shape) / t, t, num(attrs, 'key'), p, 1 / (1 - p)])[0]!;
    },
  };
}

function kernelFuncs(addon: BlasAddon): Record<FusedKernelName, (a: Args) => TensorInfo | TensorInfo[]> {
  return { ...elementwiseKernels(addon), ...rowKernels(addon), ...attentionRowKernels(addon) } as Record<FusedKernelName, (a: Args) => TensorInfo | TensorInfo[]>;
}

/** Kernels whose native op came after the first fused kernels: registered only where the built addon has the op. */
const LATER_OPS: Record<string, { code: number; buffers: number; params: number }> = {
  [FusedKernel.dropoutApply]: { code: Op.dropoutApply, buffers: 2, params: 4 },
  [FusedKernel.dropoutAdd]: { code: Op.dropoutAdd, buffers: 3, params: 4 },
  [FusedKernel.geluSaved]: { code: Op.geluSavedFwd, buffers: 3, params: 1 },
  [FusedKernel.geluSavedGrad]: { code: Op.geluSavedBwd, buffers: 4, params: 1 },
  [FusedKernel.geluExact]: { code: Op.geluExactFwd, buffers: 2, params: 1 },
  [FusedKernel.geluExactGrad]: { code: Op.geluExactBwd, buffers: 3, params: 1 },
  [FusedKernel.causalDropout]: { code: Op.causalDropout, buffers: 2, params: 5 },
  [FusedKernel.causalSoftmaxGrad]: { code: Op.causalSoftmaxGrad, buffers: 3, params: 3 },
};

/**
 * Whether the addon knows a fused op: run it on nothing (element count 0, all offsets 0); an
 * addon built before the op throws "unknown op". The ops stay off until `npm run install` rebuilds it.
 */
export function addonHasOp(addon: BlasAddon, op: number, buffers: number, params: number): boolean {
  try {
    addon.fused!(new ArrayBuffer(16), op, new Float64Array(buffers), new Float64Array(params));
    return true;
  } catch {
    return false;
  }
}

let registered = false;
/** The attention's head kernels are registered too (an addon built before gemmStrided has not got them). */
let heads = false;

/** Registers the fused kernels for wasm; returns why not when it does not (old addon, switched off). */
export function registerFusedKernels(addon: BlasAddon): { enabled: boolean; reason: string } {
  if (process.env[FUSED_KERNELS_ENV] === '0') return { enabled: false, reason: `fused kernels off (${FUSED_KERNELS_ENV}=0)` };
  if (typeof addon.fused !== 'function') return { enabled: false, reason: 'the native addon predates the fused kernels; rebuild it with `npm run install`' };
  if (!registered) {
    for (const [name, f] of Object.entries(kernelFuncs(addon))) {
      const op = LATER_OPS[name];
      if (op !== undefined && !addonHasOp(addon, op.code, op.buffers, op.params)) continue;
      tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: f as unknown as KernelFunc });
    }
    registerHeapSlices();
    heads = registerHeadKernels(addon);
    registered = true;
  }
  return { enabled: true, reason: `fused GELU (tanh${hasErf() ? ' and erf' : ''}), LayerNorm, AdamW, cross-entropy, attention-softmax and dropout-mask kernels, heap slices${heads ? ', strided per-head attention products' : ''}` };
}

function hasErf(): boolean {
  return tf.getKernel(FusedKernel.geluExact, 'wasm') !== undefined;
}

export function unregisterFusedKernels(): void {
  if (!registered) return;
  // Only what is registered: a name may exist for webgpu alone (or an old addon lacks a kernel).
  for (const name of Object.values(FusedKernel)) if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
  unregisterHeapSlices();
  unregisterHeadKernels();
  heads = false;
  registered = false;
}
