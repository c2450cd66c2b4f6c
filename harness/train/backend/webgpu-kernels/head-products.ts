// The attention's per-head products (ops/fused.ts HeadKernel) in WGSL: tiled batched products
// that read q, k and v where the c_attn projection left them, in its [tokens, 3C] output, by
// strides, and write the heads side by side into [tokens, C] (or the q, k, v gradients into one
// [tokens, 3C] tensor). So the webgpu attention runs without the head-layout transposes, the
// q / k / v split and the gradients' concat of the generic path, and the scores' scale is the
// product's alpha. Workgroups skip the causal zeros (about half of each product's tiles). The
// CPU twins are backend/head-kernels.ts (strided OpenBLAS calls).
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { HeadKernel, type HeadKernelName } from '../../ops/fused.ts';
import { run, type Uniform, type WebgpuBackendLike } from './program.ts';
import { tiledProgram, UNIFORM_I32_WGSL } from './tiled.ts';

/** Tile side: 16 x 16 threads, two 16 x 16 float tiles (2 KiB of workgroup memory). */
const S = 16;

/** Where one operand's element (batch b, head h, row i, column j) lies: base + b batch + h head + i row + j col. */
interface Strides { base: number; batch: number; head: number; row: number; col: number }

/**
 * Which causal zeros a product skips: A lower triangular (P, dS: key <= query), A upper (their
 * transposes), or the output's tiles above the diagonal (scores of future keys: written 0, which
 * the causal softmax never reads and its gradient multiplies by p = 0).
 */
const CAUSAL = { aLower: 1, aUpper: 2, outLower: 3 } as const;

/** One product of a dispatch: out = alpha op(A) op(B), with A and B read from the named inputs. */
interface Part { a: string; b: string; as: Strides; bs: Strides; cs: Strides; causal: (typeof CAUSAL)[keyof typeof CAUSAL] }

interface Heads { batch: number; heads: number; t: number; c: number; hd: number }

function headsOf(qkv: TensorInfo, attrs: NamedAttrMap | undefined): Heads {
  const batch = Number(attrs?.batch);
  const heads = Number(attrs?.heads);
  const [n, c3] = qkv.shape as [number, number];
  const c = c3 / 3;
  if (qkv.shape.length !== 2 || !(batch > 0) || n % batch !== 0 || !(heads > 0) || c % heads !== 0) {
    throw new Error(`WGSL head kernels: qkv [${qkv.shape}] does not split into ${batch} sequences and ${heads} heads`);
  }
  return { batch, heads, t: n / batch, c, hd: c / heads };
}

/** The WGSL helpers of a batched product: the tiles, the loads of each part's operands, the causal k range. */
function productHelpers(parts: Part[]): string {
  const load = (which: 'a' | 'b') => parts.map((p, i) => `if (part == ${i}) { return ${p[which]}[idx]; }`).join('\n        ');
  return `
    var<workgroup> tileA : array<array<f32, ${S}>, ${S}>;
    var<workgroup> tileB : array<array<f32, ${S}>, ${S}>;
    fn loadA(part : i32, idx : i32) -> f32 {
        ${load('a')}
        return 0.0;
    }
    fn loadB(part : i32, idx : i32) -> f32 {
        ${load('b')}
        return 0.0;
    }
    ${UNIFORM_I32_WGSL}
    // The k range a workgroup of rows r0.. r0 + ${S} (columns c0..) needs: the causal zeros left out.
    fn kRange(mode : i32, k : i32, r0 : i32, c0 : i32) -> vec2<i32> {
      if (mode == ${CAUSAL.aLower}) { return vec2<i32>(0, min(k, r0 + ${S})); }
      if (mode == ${CAUSAL.aUpper}) { return vec2<i32>(r0, k); }
      if (mode == ${CAUSAL.outLower} && c0 > r0 + ${S} - 1) { return vec2<i32>(0, 0); }
      return vec2<i32>(0, k);
    }`;
}

/** The body of a batched product with `parts` products side by side (workgroup z = head * parts + part). */
function productBody(parts: Part[]): string {
  const pick = (local: string, field: string) => `var ${local} = uniforms.${field}0; ` +
    parts.slice(1).map((_, i) => `if (part == ${i + 1}) { ${local} = uniforms.${field}${i + 1}; }`).join(' ');
  // Per-part strides are uniforms (a shape change reuses the pipeline); the part only picks
  // which inputs and strides a workgroup uses, and the k range is made workgroup-uniform, so
  // every barrier stays in uniform control flow.
  return `
    let part = i32(workgroupId.z) % ${parts.length};
    let bh = i32(workgroupId.z) / ${parts.length};
    let b = bh / uniforms.dims.w;
    let h = bh % uniforms.dims.w;
    ${pick('a', 'a')}
    ${pick('bb', 'b')}
    ${pick('c', 'c')}
    ${pick('cols', 'cols')}
    let lx = i32(localId.x);
    let ly = i32(localId.y);
    let row = i32(workgroupId.y) * ${S} + ly;
    let col = i32(workgroupId.x) * ${S} + lx;
    let aOff = a.x + b * a.y + h * a.z;
    let bOff = bb.x + b * bb.y + h * bb.z;
    let m = uniforms.dims.x; let n = uniforms.dims.y; let k = uniforms.dims.z;
    let range = kRange(cols.z, k, i32(workgroupId.y) * ${S}, i32(workgroupId.x) * ${S});
    let kLo = uniformI32(range.x, ly * ${S} + lx);
    let kHi = uniformI32(range.y, ly * ${S} + lx);
    var acc = 0.0;
    for (var k0 = kLo; k0 < kHi; k0 += ${S}) {
      // Thread (ly, lx) brings A(row, k0 + lx) and B(k0 + ly, col); zeros outside the matrices.
      let ka = k0 + lx;
      let kb = k0 + ly;
      var va = 0.0; var vb = 0.0;
      if (row < m && ka < k) { va = loadA(part, aOff + row * a.w + ka * cols.x); }
      if (kb < k && col < n) { vb = loadB(part, bOff + kb * bb.w + col * cols.y); }
      tileA[ly][lx] = va;
      tileB[ly][lx] = vb;
      workgroupBarrier();
      for (var kk = 0; kk < ${S}; kk++) { acc += tileA[ly][kk] * tileB[kk][lx]; }
      workgroupBarrier();
    }
    if (row < m && col < n) { setOutputAtIndex(c.x + b * c.y + h * c.z + row * c.w + col, uniforms.alpha * acc); }`;
}

const vec4 = (...data: number[]): Uniform => ({ type: 'int32', data });

/** Runs `parts` products of m x k by k x n per (batch, head) in one dispatch. */
function products(backend: WebgpuBackendLike, key: string, inputs: Record<string, TensorInfo>, parts: Part[],
  s: Heads, mnk: [number, number, number], alpha: number, outShape: number[]): TensorInfo {
  const names = Object.keys(inputs);
  const fields = parts.map((_, i) => `a${i} : vec4<i32>, b${i} : vec4<i32>, c${i} : vec4<i32>, cols${i} : vec4<i32>,`).join(' ');
  const [m, n] = mnk;
  const program = tiledProgram({
    key: `head_${key}`, inputs: names, outputShape: outShape, side: S,
    grid: [Math.ceil(n / S), Math.ceil(m / S), s.batch * s.heads * parts.length],
    uniforms: `dims : vec4<i32>, alpha : f32, ${fields}`, helpers: productHelpers(parts), body: productBody(parts),
  });
  const st = (x: Strides) => vec4(x.base, x.batch, x.head, x.row);
  const uniforms: Uniform[] = [vec4(...mnk, s.heads), { type: 'float32', data: [alpha] }];
  for (const p of parts) uniforms.push(st(p.as), st(p.bs), st(p.cs), vec4(p.as.col, p.bs.col, p.causal, 0));
  return run(backend, program, names.map((k) => inputs[k]!), uniforms);
}

/** Operand layouts: a head's slice of the projection (part 0 q, 1 k, 2 v), of a [tokens, C] tensor, of a [B H, T, T] one. */
function layouts(s: Heads) {
  const inQkv = (part: number, transposed = false): Strides => ({
    base: part * s.c, batch: s.t * 3 * s.c, head: s.hd, row: transposed ? 1 : 3 * s.c, col: transposed ? 3 * s.c : 1,
  });
  const inRows = (transposed = false): Strides => ({ base: 0, batch: s.t * s.c, head: s.hd, row: transposed ? 1 : s.c, col: transposed ? s.c : 1 });
  const square = (transposed = false): Strides => ({
    base: 0, batch: s.heads * s.t * s.t, head: s.t * s.t, row: transposed ? 1 : s.t, col: transposed ? s.t : 1,
  });
  return { inQkv, inRows, square };
}

function checkFloat(inputs: Record<string, TensorInfo | undefined>): Record<string, TensorInfo> {
  for (const [name, x] of Object.entries(inputs)) {
    if (!x || x.dtype !== 'float32') throw new Error(`WGSL head kernels: ${name} must be a float32 tensor`);
  }
  return inputs as Record<string, TensorInfo>;
}

type Kernel = (backend: WebgpuBackendLike, inputs: Record<string, TensorInfo | undefined>, attrs: NamedAttrMap | undefined) => TensorInfo;

export const headKernels: Record<HeadKernelName, Kernel> = {
  [HeadKernel.scores]: (backend, inputs, attrs) => {
    const { qkv } = checkFloat({ qkv: inputs.qkv });
    const s = headsOf(qkv!, attrs);
    const L = layouts(s);
    return products(backend, 'scores', { QKV: qkv! }, [{ a: 'QKV', b: 'QKV', as: L.inQkv(0), bs: L.inQkv(1, true), cs: L.square(), causal: CAUSAL.outLower }],
      s, [s.t, s.t, s.hd], Number(attrs?.scale), [s.batch * s.heads, s.t, s.t]);
  },
  [HeadKernel.context]: (backend, inputs, attrs) => {
    const { p, qkv } = checkFloat({ p: inputs.p, qkv: inputs.qkv });
    const s = headsOf(qkv!, attrs);
    const L = layouts(s);
    return products(backend, 'context', { P: p!, QKV: qkv! }, [{ a: 'P', b: 'QKV', as: L.square(), bs: L.inQkv(2), cs: L.inRows(), causal: CAUSAL.aLower }],
      s, [s.t, s.hd, s.t], 1, [s.batch * s.t, s.c]);
  },
  [HeadKernel.contextGrad]: (backend, inputs, attrs) => {
    const { dy, qkv } = checkFloat({ dy: inputs.dy, qkv: inputs.qkv });
    const s = headsOf(qkv!, attrs);
    const L = layouts(s);
    return products(backend, 'context_grad', { DY: dy!, QKV: qkv! }, [{ a: 'DY', b: 'QKV', as: L.inRows(), bs: L.inQkv(2, true), cs: L.square(), causal: CAUSAL.outLower }],
      s, [s.t, s.t, s.hd], 1, [s.batch * s.heads, s.t, s.t]);
  },
  /** dq = ds k, dk = ds^T q, dv = p^T dy: three products of one dispatch into the [tokens, 3C] gradient. */
  [HeadKernel.qkvGrad]: (backend, inputs, attrs) => {
    const { ds, p, dy, qkv } = checkFloat({ ds: inputs.ds, p: inputs.p, dy: inputs.dy, qkv: inputs.qkv });
    const s = headsOf(qkv!, attrs);
    const L = layouts(s);
    const out = (part: number): Strides => L.inQkv(part);
    return products(backend, 'qkv_grad', { DS: ds!, P: p!, DY: dy!, QKV: qkv! }, [
      { a: 'DS', b: 'QKV', as: L.square(), bs: L.inQkv(1), cs: out(0), causal: CAUSAL.aLower },
      { a: 'DS', b: 'QKV', as: L.square(true), bs: L.inQkv(0), cs: out(1), causal: CAUSAL.aUpper },
      { a: 'P', b: 'DY', as: L.square(true), bs: L.inRows(), cs: out(2), causal: CAUSAL.aUpper },
    ], s, [s.t, s.hd, s.t], 1, [s.batch * s.t, 3 * s.c]);
  },
};
