// What the fused LM head + cross-entropy kernels share (lmhead-forward.ts, lmhead-backward.ts):
// the tile sizes, the shape uniforms, the folded workgroup grid, and the WGSL that computes one
// B x B tile of logits x wte^T through workgroup memory. A workgroup "owns" B rows of one
// operand (tokens of x, or vocabulary rows of wte) and "walks" the rows of the other, so the
// [N, V] logits exist only as one B x B tile per workgroup at a time.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { Uniform } from './program.ts';
import { WORKGROUP_STORAGE_BYTES } from './tiled.ts';
import { wordsPerRow } from './half-pack.ts';
import { HALF_BITS_WGSL } from './half-bits.ts';

/** Threads per workgroup side: B x B = 256 invocations, WebGPU's default maximum. */
export const SIDE = 16;
/** Columns of C per chunk: rows of C = 768 floats do not fit 16 KiB, so the dot products go by chunks (a multiple of SIDE). */
export const CHUNK = 64;
const MAX_GROUPS_PER_DIM = 65535;

/** half: x and wte are packed halves (half-pack.ts, int32 [rows, words]) and the logits, dlogits and products round to half. */
export interface LmHeadShape { rows: number; vocab: number; c: number; words: number; half: boolean }

/** Float32 x and wte, or (embd given) packed halves of C = embd columns. */
export function lmHeadShape(x: TensorInfo, wte: TensorInfo, targets: TensorInfo, embd?: number): LmHeadShape {
  const half = embd !== undefined;
  const [rows, cx] = x.shape as [number, number];
  const [vocab, cw] = wte.shape as [number, number];
  const c = half ? embd : cx;
  const want = half ? { dtype: 'int32', cols: wordsPerRow(c) } : { dtype: 'float32', cols: c };
  if (x.shape.length !== 2 || wte.shape.length !== 2 || cx !== want.cols || cw !== want.cols || x.dtype !== want.dtype ||
    wte.dtype !== want.dtype || targets.shape[0] !== rows || targets.dtype !== 'int32') {
    throw new Error(`lm head: x ${x.dtype} [${x.shape}], wte ${wte.dtype} [${wte.shape}] and targets [${targets.shape}] (${targets.dtype}) do not match${half ? ` (packed halves of C ${c})` : ''}`);
  }
  if (4 * (2 * SIDE * CHUNK + 3 * SIDE * SIDE) > WORKGROUP_STORAGE_BYTES) throw new Error('lm head: tiles exceed workgroup memory');
  return { rows, vocab, c, words: wordsPerRow(c), half };
}

/** A grid of at least `groups` workgroups, folded into 2-D past the per-dimension limit (the body unfolds it with GROUP_WGSL). */
export function foldedGrid(groups: number): [number, number, number] {
  const n = Math.max(1, groups);
  if (n <= MAX_GROUPS_PER_DIM) return [n, 1, 1];
  const x = Math.ceil(Math.sqrt(n));
  return [x, Math.ceil(n / x), 1];
}

/** The workgroup's index in the folded grid; one past the last tile loads zeros and writes nothing. */
export const GROUP_WGSL = 'i32(workgroupId.y * numWorkgroups.x + workgroupId.x)';

/** Loop counts come from uniforms, not WGSL constants: lavapipe's LLVM unrolls constant-count loops (slow compiles). */
export const LMHEAD_UNIFORMS = 'rows : i32, vocab : i32, c : i32, kc : i32, side : i32, scale : f32, floor : f32, words : i32,';

export function lmHeadUniforms(s: LmHeadShape, scale: number, floor: number): Uniform[] {
  const i32 = (v: number): Uniform => ({ type: 'int32', data: [v] });
  return [i32(s.rows), i32(s.vocab), i32(s.c), i32(CHUNK), i32(SIDE), { type: 'float32', data: [scale] }, { type: 'float32', data: [floor] }, i32(s.words)];
}

/** WGSL that copies rows r0 .. r0 + B, columns k0 .. k0 + KC of SRC [count, C] into dst, zeros outside. Needs tid and k0. */
export function loadChunk(dst: string, src: string, count: string, r0: string, half: boolean): string {
  const read = half ? `halfAt(${src}[r * uniforms.words + k / 2], k)` : `${src}[r * uniforms.c + k]`;
  return `for (var e = tid; e < B * KC; e += B * B) {
        let r = ${r0} + e / KC;
        let k = k0 + e % KC;
        var v = 0.0;
        if (r < ${count} && k < uniforms.c) { v = ${read}; }
        ${dst}[e] = v;
      }`;
}

/**
 * The halves widen exactly into float32 tiles and their products are exact in float32, so the
 * sums differ from the materialised f16 matmul's by order only (as in flash-half-tiles.ts).
 * Half k of a packed row: the low 16 bits hold the even column.
 */
const HALF_WGSL = `${HALF_BITS_WGSL}
  fn halfAt(word : i32, k : i32) -> f32 { return halfValue((bitcast<u32>(word) >> (16u * u32(k % 2))) & 0xffffu); }
  fn roundHalf(x : f32) -> f32 { return halfValue(halfBits(x)); }`;

/** WGSL rounding e to half where the emulation rounds (fp16), e itself in fp32. */
export const rounded = (half: boolean, e: string): string => (half ? `roundHalf(${e})` : e);

/**
 * Constants, the two chunk arrays, and fn logitTile(a0, b0, ...): owner row a0 + ly of OWNER
 * (ownerCount rows) dotted with walked row b0 + lx of WALKED, for thread (ly, lx). It holds
 * barriers, so it is called from uniform control flow; its first barrier also orders it after
 * whatever the workgroup read from the arrays before.
 */
export function logitTileWgsl(owner: string, ownerCount: string, walked: string, walkedCount: string, half: boolean): string {
  return `
  ${half ? HALF_WGSL : ''}
  const B = ${SIDE};
  const KC = ${CHUNK};
  var<workgroup> ownT : array<f32, ${SIDE * CHUNK}>;
  var<workgroup> walkT : array<f32, ${SIDE * CHUNK}>;
  fn logitTile(a0 : i32, b0 : i32, lx : i32, ly : i32, tid : i32) -> f32 {
    var acc = 0.0;
    for (var k0 = 0; k0 < uniforms.c; k0 += KC) {
      workgroupBarrier();
      ${loadChunk('ownT', owner, ownerCount, 'a0', half)}
      ${loadChunk('walkT', walked, walkedCount, 'b0', half)}
      workgroupBarrier();
      for (var k = 0; k < uniforms.kc; k++) { acc += ownT[ly * KC + k] * walkT[lx * KC + k]; }
    }
    return acc;
  }`;
}
