// The attention's per-head products as tfjs kernels of the wasm backend, each one strided OpenBLAS
// call per (batch, head) on the wasm heap (native gemmStrided). They read q, k and v where the
// c_attn projection left them, in its [tokens, 3C] output, and write the heads' outputs side by
// side into [tokens, C] rows (and the q, k, v gradients into one [tokens, 3C] tensor), so the
// attention runs without the head-layout transposes, the q / k / v split and the gradients'
// concat of the generic formulation (ops/attention.ts), and with the scores' scale as the
// product's alpha instead of a separate multiply.
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { HeadKernel, type HeadKernelName } from '../ops/fused.ts';
import type { BlasAddon } from './native-addon.ts';
import { floatOffset, heapBuffer, type WasmHeapBackend } from './blas.ts';

interface Args {
  inputs: Record<string, TensorInfo | undefined>;
  backend: WasmHeapBackend;
  attrs?: NamedAttrMap;
}

/** The attention's shape, from the projection [tokens, 3C] and the attrs. */
interface Heads { batch: number; heads: number; t: number; c: number; hd: number }

function headsOf(qkv: TensorInfo, attrs: NamedAttrMap | undefined): Heads {
  const batch = Number(attrs?.batch);
  const heads = Number(attrs?.heads);
  const [n, c3] = qkv.shape as [number, number];
  const c = c3 / 3;
  if (qkv.shape.length !== 2 || !(batch > 0) || n % batch !== 0 || !(heads > 0) || c % heads !== 0) {
    throw new Error(`head kernels: qkv [${qkv.shape}] does not split into ${batch} sequences and ${heads} heads`);
  }
  return { batch, heads, t: n / batch, c, hd: c / heads };
}

/** One operand per (batch b, head h): its float offset is base + b * perBatch + h * perHead. */
function offsets(s: Heads, base: number, perBatch: number, perHead: number): Float64Array {
  const out = new Float64Array(s.batch * s.heads);
  for (let b = 0; b < s.batch; b++) for (let h = 0; h < s.heads; h++) out[b * s.heads + h] = base + b * perBatch + h * perHead;
  return out;
}

function checkFloat(name: string, x: TensorInfo): void {
  if (x.dtype !== 'float32') throw new Error(`head kernels: ${name} must be float32 (got ${x.dtype})`);
}

type Place = (x: TensorInfo) => number;

function kernelFuncs(addon: BlasAddon): Record<HeadKernelName, (a: Args) => TensorInfo> {
  const gemm = addon.gemmStrided!.bind(addon);
  // Offsets are read after every makeOutput: an allocation may grow (and replace) the heap.
  const placer = (backend: WasmHeapBackend): Place => (x) => floatOffset(backend, x) ?? (() => { throw new Error('head kernels: a tensor has no place on the wasm heap'); })();
  return {
    [HeadKernel.scores]: ({ inputs, backend, attrs }) => {
      const qkv = inputs.qkv!;
      checkFloat('qkv', qkv);
      const s = headsOf(qkv, attrs);
      const out = backend.makeOutput([s.batch * s.heads, s.t, s.t], 'float32');
      const at = placer(backend);
      const row = s.t * 3 * s.c;
      const q = offsets(s, at(qkv), row, s.hd);
      gemm(heapBuffer(backend), false, true, s.t, s.t, s.hd, Number(attrs?.scale), q, 3 * s.c,
        q.map((o) => o + s.c), 3 * s.c, offsets(s, at(out), s.heads * s.t * s.t, s.t * s.t), s.t);
      return out;
    },
    [HeadKernel.context]: ({ inputs, backend, attrs }) => {
      const p = inputs.p!;
      const qkv = inputs.qkv!;
      checkFloat('p', p);
      checkFloat('qkv', qkv);
      const s = headsOf(qkv, attrs);
      const out = backend.makeOutput([s.batch * s.t, s.c], 'float32');
      const at = placer(backend);
      gemm(heapBuffer(backend), false, false, s.t, s.hd, s.t, 1, offsets(s, at(p), s.heads * s.t * s.t, s.t * s.t), s.t,
        offsets(s, at(qkv) + 2 * s.c, s.t * 3 * s.c, s.hd), 3 * s.c, offsets(s, at(out), s.t * s.c, s.hd), s.c);
      return out;
    },
    [HeadKernel.contextGrad]: ({ inputs, backend, attrs }) => {
      const dy = inputs.dy!;
      const qkv = inputs.qkv!;
      checkFloat('dy', dy);
      checkFloat('qkv', qkv);
      const s = headsOf(qkv, attrs);
      const out = backend.makeOutput([s.batch * s.heads, s.t, s.t], 'float32');
      const at = placer(backend);
      gemm(heapBuffer(backend), false, true, s.t, s.t, s.hd, 1, offsets(s, at(dy), s.t * s.c, s.hd), s.c,
        offsets(s, at(qkv) + 2 * s.c, s.t * 3 * s.c, s.hd), 3 * s.c, offsets(s, at(out), s.heads * s.t * s.t, s.t * s.t), s.t);
      return out;
    },
    [HeadKernel.qkvGrad]: ({ inputs, backend, attrs }) => qkvGrad(gemm, placer, { inputs, backend, attrs }),
  };
}

/** dq_h = ds_h k_h, dk_h = ds_h^T q_h, dv_h = p_h^T dy_h, written side by side as the projection's [tokens, 3C] gradient. */
function qkvGrad(gemm: NonNullable<BlasAddon['gemmStrided']>, placer: (b: WasmHeapBackend) => Place, { inputs, backend, attrs }: Args): TensorInfo {
  const { ds, p, dy, qkv } = inputs as Record<string, TensorInfo>;
  for (const [name, x] of Object.entries({ ds, p, dy, qkv })) checkFloat(name, x!);
  const s = headsOf(qkv!, attrs);
  const out = backend.makeOutput([s.batch * s.t, 3 * s.c], 'float32');
  const at = placer(backend);
  const heap = heapBuffer(backend);
  const row3 = s.t * 3 * s.c;
  const square = (x: TensorInfo) => offsets(s, at(x), s.heads * s.t * s.t, s.t * s.t);
  const inQkv = (part: number) => offsets(s, at(qkv!) + part * s.c, row3, s.hd);
  const inOut = (part: number) => offsets(s, at(out) + part * s.c, row3, s.hd);
  gemm(heap, false, false, s.t, s.hd, s.t, 1, square(ds!), s.t, inQkv(1), 3 * s.c, inOut(0), 3 * s.c);
  gemm(heap, true, false, s.t, s.hd, s.t, 1, square(ds!), s.t, inQkv(0), 3 * s.c, inOut(1), 3 * s.c);
  gemm(heap, true, false, s.t, s.hd, s.t, 1, square(p!), s.t, offsets(s, at(dy!), s.t * s.c, s.hd), s.c, inOut(2), 3 * s.c);
  return out;
}

/** Registers the head kernels when the addon has gemmStrided; returns whether it did. */
export function registerHeadKernels(addon: BlasAddon): boolean {
  if (typeof addon.gemmStrided !== 'function') return false;
  for (const [name, f] of Object.entries(kernelFuncs(addon))) {
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: f as unknown as tf.KernelFunc });
  }
  return true;
}

export function unregisterHeadKernels(): void {
  for (const name of Object.values(HeadKernel)) if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
}
