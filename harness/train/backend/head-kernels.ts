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

/** Each head's T x T square of a [B H, T, T] tensor starting at `base` (scores, probabilities and their gradients). */
const squares = (s: Heads, base: number) => offsets(s, base, s.heads * s.t * s.t, s.t * s.t);
/** Each head's columns of part `part` (0 q, 1 k, 2 v) of a [tokens, 3C] tensor starting at `base`. */
const qkvHeads = (s: Heads, base: number, part: number) => offsets(s, base + part * s.c, s.t * 3 * s.c, s.hd);
/** Each head's columns of a [tokens, C] tensor starting at `base`. */
const tokenHeads = (s: Heads, base: number) => offsets(s, base, s.t * s.c, s.hd);

/**
 * The causal products' query blocks [r0, r1): about 32 rows each (smaller blocks skip more of the
 * zero upper triangle, but OpenBLAS loses speed below about 32 rows); one block below 64 rows.
 */
export function causalBlocks(t: number): Array<[number, number]> {
  const count = Math.max(1, Math.floor(t / 32));
  const size = Math.ceil(t / count);
  const blocks: Array<[number, number]> = [];
  for (let r0 = 0; r0 < t; r0 += size) blocks.push([r0, Math.min(t, r0 + size)]);
  return blocks;
}

/** The same offsets moved by delta floats. */
function shift(at: Float64Array, delta: number): Float64Array {
  return at.map((o) => o + delta);
}

/** The named inputs, each checked to be float32, and the attention's shape from inputs.qkv and the attrs. */
function headInputs(args: Args, names: string[]): { x: Record<string, TensorInfo>; s: Heads } {
  const x: Record<string, TensorInfo> = {};
  for (const name of names) {
    const t = args.inputs[name]!;
    if (t.dtype !== 'float32') throw new Error(`head kernels: ${name} must be float32 (got ${t.dtype})`);
    x[name] = t;
  }
  return { x, s: headsOf(x.qkv!, args.attrs) };
}

type Place = (x: TensorInfo) => number;

type Gemm = NonNullable<BlasAddon['gemmStrided']>;
type Placer = (backend: WasmHeapBackend) => Place;

function kernelFuncs(addon: BlasAddon): Record<HeadKernelName, (a: Args) => TensorInfo> {
  const gemm = addon.gemmStrided!.bind(addon);
  // Offsets are read after every makeOutput: an allocation may grow (and replace) the heap.
  const placer: Placer = (backend) => (x) => floatOffset(backend, x) ?? (() => { throw new Error('head kernels: a tensor has no place on the wasm heap'); })();
  return {
    [HeadKernel.scores]: (a) => scoresKernel(gemm, placer, a),
    [HeadKernel.context]: (a) => contextKernel(gemm, placer, a),
    [HeadKernel.contextGrad]: (a) => contextGradKernel(gemm, placer, a),
    [HeadKernel.qkvGrad]: (a) => qkvGrad(gemm, placer, a),
  };
}

/** scores_h = scale q_h k_h^T per head, on the causal blocks only. */
function scoresKernel(gemm: Gemm, placer: Placer, args: Args): TensorInfo {
  const { backend, attrs } = args;
  const { x: { qkv }, s } = headInputs(args, ['qkv']);
  const out = backend.makeOutput([s.batch * s.heads, s.t, s.t], 'float32');
  const at = placer(backend);
  const q = qkvHeads(s, at(qkv), 0);
  const k = qkvHeads(s, at(qkv), 1);
  const scores = squares(s, at(out));
  // Query block [r0, r1) against keys [0, r1) only: the scores right of that are never read
  // (the causal softmax reads keys up to the query's own position), so they stay unwritten.
  for (const [r0, r1] of causalBlocks(s.t)) {
    gemm(heapBuffer(backend), false, true, r1 - r0, r1, s.hd, Number(attrs?.scale), shift(q, r0 * 3 * s.c), 3 * s.c,
      k, 3 * s.c, shift(scores, r0 * s.t), s.t);
  }
  return out;
}

/** y_h = p_h v_h per head, written into the heads' columns of [tokens, C]. */
function contextKernel(gemm: Gemm, placer: Placer, args: Args): TensorInfo {
  const { backend } = args;
  const { x: { p, qkv }, s } = headInputs(args, ['p', 'qkv']);
  const out = backend.makeOutput([s.batch * s.t, s.c], 'float32');
  const at = placer(backend);
  const probs = squares(s, at(p));
  const v = qkvHeads(s, at(qkv), 2);
  const y = tokenHeads(s, at(out));
  // p is 0 right of the diagonal: each query block sums over the keys up to its last query only
  for (const [r0, r1] of causalBlocks(s.t)) {
    gemm(heapBuffer(backend), false, false, r1 - r0, s.hd, r1, 1, shift(probs, r0 * s.t), s.t, v, 3 * s.c, shift(y, r0 * s.c), s.c);
  }
  return out;
}

/** dp_h = dy_h v_h^T per head. */
function contextGradKernel(gemm: Gemm, placer: Placer, args: Args): TensorInfo {
  const { backend, attrs } = args;
  const { x: { dy, qkv }, s } = headInputs(args, ['dy', 'qkv']);
  const out = backend.makeOutput([s.batch * s.heads, s.t, s.t], 'float32');
  const at = placer(backend);
  const dyAt = tokenHeads(s, at(dy));
  const v = qkvHeads(s, at(qkv), 2);
  const dp = squares(s, at(out));
  // attrs causal 1: the caller reads only keys up to each query (the causal softmax gradient),
  // so the blocks right of the diagonal stay unwritten, as in scores; else the whole square.
  const blocks: Array<[number, number]> = Number(attrs?.causal) === 1 ? causalBlocks(s.t) : [[0, s.t]];
  for (const [r0, r1] of blocks) {
    const keys = blocks.length === 1 ? s.t : r1;
    gemm(heapBuffer(backend), false, true, r1 - r0, keys, s.hd, 1, shift(dyAt, r0 * s.c), s.c, v, 3 * s.c, shift(dp, r0 * s.t), s.t);
  }
  return out;
}

/** dq_h = ds_h k_h, dk_h = ds_h^T q_h, dv_h = p_h^T dy_h, written side by side as the projection's [tokens, 3C] gradient. */
function qkvGrad(gemm: Gemm, placer: Placer, args: Args): TensorInfo {
  const { backend } = args;
  const { x: { ds, p, dy, qkv }, s } = headInputs(args, ['ds', 'p', 'dy', 'qkv']);
  const out = backend.makeOutput([s.batch * s.t, 3 * s.c], 'float32');
  const at = placer(backend);
  const heap = heapBuffer(backend);
  const [q, k] = [qkvHeads(s, at(qkv), 0), qkvHeads(s, at(qkv), 1)];
  const [dq, dk, dv] = [0, 1, 2].map((part) => qkvHeads(s, at(out), part)) as [Float64Array, Float64Array, Float64Array];
  const dsAt = squares(s, at(ds));
  const pAt = squares(s, at(p));
  const dyAt = tokenHeads(s, at(dy));
  // ds and p are 0 right of the diagonal (p exactly, ds = p (dp - sum) scale): the products skip
  // those blocks. dq's query rows [r0, r1) need keys [0, r1); dk's and dv's key rows [r0, r1)
  // need queries [r0, t).
  for (const [r0, r1] of causalBlocks(s.t)) {
    const rows = r1 - r0;
    gemm(heap, false, false, rows, s.hd, r1, 1, shift(dsAt, r0 * s.t), s.t, k, 3 * s.c, shift(dq, r0 * 3 * s.c), 3 * s.c);
    const below = r0 * s.t + r0; // (query r0, key r0): the corner of the rows that see these keys
    gemm(heap, true, false, rows, s.hd, s.t - r0, 1, shift(dsAt, below), s.t, shift(q, r0 * 3 * s.c), 3 * s.c,
      shift(dk, r0 * 3 * s.c), 3 * s.c);
    gemm(heap, true, false, rows, s.hd, s.t - r0, 1, shift(pAt, below), s.t, shift(dyAt, r0 * s.c), s.c,
      shift(dv, r0 * 3 * s.c), 3 * s.c);
  }
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
