// What the flash attention kernels share: the attention's shape from the projection and attrs,
// the tile side that keeps their workgroup arrays under WebGPU's default 16 KiB, the WGSL that
// loads a head's rows of q, k or v into a workgroup tile, and the WGSL the fp32 and fp16 kernels
// have in common (tile indices, the backward's entry and its tile sums).
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Uniform } from './program.ts';
import { UNIFORM_I32_WGSL, WORKGROUP_STORAGE_BYTES } from './tiled.ts';

export interface FlashShape { batch: number; heads: number; t: number; c: number; hd: number }

export function flashShape(qkv: TensorInfo, attrs: NamedAttrMap | undefined): FlashShape {
  const batch = Number(attrs?.batch);
  const heads = Number(attrs?.heads);
  const [n, c3] = qkv.shape as [number, number];
  const c = c3 / 3;
  if (qkv.shape.length !== 2 || qkv.dtype !== 'float32' || !(batch > 0) || n % batch !== 0 || !(heads > 0) || c % heads !== 0) {
    throw new Error(`flash attention: qkv [${qkv.shape}] (${qkv.dtype}) does not split into ${batch} sequences and ${heads} heads`);
  }
  return { batch, heads, t: n / batch, c, hd: c / heads };
}

/**
 * The largest tile side (threads per workgroup side, rows per tile) whose arrays fit: `rowTiles`
 * tiles of side x hd floats plus `squares` tiles of side x side and `vectors` of side.
 */
export function tileSide(hd: number, rowTiles: number, squares: number, vectors: number): number {
  for (const side of [16, 8, 4, 2, 1]) {
    if (4 * (rowTiles * side * hd + squares * side * side + vectors * side) <= WORKGROUP_STORAGE_BYTES) return side;
  }
  throw new Error(`flash attention: head dim ${hd} does not fit WebGPU's ${WORKGROUP_STORAGE_BYTES} bytes of workgroup memory`);
}

/**
 * The shape uniforms every flash kernel reads. The loops run to hd, side and nc read from here,
 * not to the WGSL constants: lavapipe's LLVM unrolls constant-count loops, which took the backward
 * 10-20 s to compile (5x less this way); the constants size the arrays only.
 */
export const SHAPE_UNIFORMS = 't : i32, heads : i32, c : i32, scale : f32, hd : i32, side : i32, nc : i32,';

export function shapeUniforms(s: FlashShape, scale: number, side: number): Uniform[] {
  const i32 = (v: number): Uniform => ({ type: 'int32', data: [v] });
  return [i32(s.t), i32(s.heads), i32(s.c), { type: 'float32', data: [scale] }, i32(s.hd), i32(side), i32(Math.ceil(s.hd / side))];
}

/** WGSL constants, the workgroup arrays (tiles of B x HD, squares of B x B, vectors of B) and helpers. */
export function tileWgsl(side: number, hd: number, arrays: string[], squares: string[], vectors: string[]): string {
  const decl = (names: string[], size: number) => names.map((n) => `var<workgroup> ${n} : array<f32, ${size}>;`).join('\n  ');
  return `
  const B = ${side};
  const HD = ${hd};
  ${decl(arrays, side * hd)}
  ${decl(squares, side * side)}
  ${decl(vectors, side)}
  ${UNIFORM_I32_WGSL}`;
}

/**
 * WGSL that copies rows r0 .. r0 + B of one head (columns col .. col + HD of src, a [tokens,
 * stride] input, rows counted from the sequence's first token `seq`) into the B x HD tile dst,
 * zeros past the sequence's end. Needs `tid` (the thread's index in the workgroup) and `seq`.
 */
export function loadRows(dst: string, src: string, stride: string, col: string, r0: string): string {
  return `for (var e = tid; e < B * HD; e += B * B) {
      let r = ${r0} + e / HD;
      var v = 0.0;
      if (r < uniforms.t) { v = ${src}[(seq + r) * ${stride} + ${col} + e % HD]; }
      ${dst}[e] = v;
    }`;
}

/** WGSL fn dot_x_y(a, b): row a of tile x times row b of tile y (HD terms). */
export function dotFn(x: string, y: string): string {
  return `fn dot_${x}_${y}(a : i32, b : i32) -> f32 {
    var acc = 0.0;
    for (var d = 0; d < uniforms.hd; d++) { acc += ${x}[a * HD + d] * ${y}[b * HD + d]; }
    return acc;
  }`;
}

/**
 * The forward-side kernels' first lines: the thread (lx, ly, tid), its workgroup's query tile q0
 * and (batch, head) bh, the head h and the sequence's first token seq.
 */
export const QUERY_TILE_INDICES = `
    let lx = i32(localId.x);
    let ly = i32(localId.y);
    let tid = ly * B + lx;
    let q0 = i32(workgroupId.x) * B;
    let bh = i32(workgroupId.y);
    let h = bh % uniforms.heads;
    let seq = (bh / uniforms.heads) * uniforms.t;
`;

/*
 * The backward kernels' shared WGSL (flash-backward.ts, flash-half-backward.ts: they differ in
 * how rows load, round and carry their row terms, not in how the tiles are walked or summed).
 */

/** The dispatch's entry: grid z = 0 workgroups own query rows (dqTile), z = 1 key rows (dkvTile). */
export const BACKWARD_BODY = `
    let lx = i32(localId.x);
    let ly = i32(localId.y);
    let tid = ly * B + lx;
    let bh = i32(workgroupId.y);
    let h = bh % uniforms.heads;
    let seq = (bh / uniforms.heads) * uniforms.t;
    let r0 = i32(workgroupId.x) * B;
    if (uniformI32(i32(workgroupId.z), tid) == 0) { dqTile(bh, h, seq, r0, lx, ly, tid); } else { dkvTile(bh, h, seq, r0, lx, ly, tid); }`;

/** dq's step over one key tile: acc[c] += sum_j ds_(ly, j) k_j at the thread's columns. */
export const ACCUMULATE_DQ = `for (var c = 0; c < uniforms.nc; c++) {
        let d = lx + c * B;
        if (d < HD) { for (var j = 0; j < uniforms.side; j++) { acc[c] += dss[ly * B + j] * ks[j * HD + d]; } }
      }`;

/** dk's and dv's step over one query tile: sums over its queries i of ds_(ly, i) q_i and pd_(ly, i) dy_i. */
export const ACCUMULATE_DKV = `for (var c = 0; c < uniforms.nc; c++) {
        let d = lx + c * B;
        if (d < HD) {
          for (var i = 0; i < uniforms.side; i++) { dv[c] += pds[ly * B + i] * dos[i * HD + d]; dk[c] += dss[ly * B + i] * qs[i * HD + d]; }
        }
      }`;
