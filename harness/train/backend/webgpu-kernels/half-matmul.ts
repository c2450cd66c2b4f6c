// C = op(A) op(B) (+ bias) on packed half matrices (half-pack.ts), with shader-f16: the operands
// are read as f16 (bitcast of the packed words) into f16 workgroup tiles, half the bytes of a
// float32 tile. Products and sums are float32: an f16 accumulator would round at every add,
// which the emulation (float32 matmul of half-rounded inputs, rounded once at the end) does not,
// so the two paths differ only by summation order. The result is rounded to half once, as the
// emulation's precision.half(matmul) does, and written either as float32 holding that half
// value or packed. op(X) is X or X^T by the transpose flags, so no transposed copy is made.
// One difference the tests cannot see on lavapipe: WGSL lets a GPU flush f16 subnormals, so
// there an operand under 2^-14 in magnitude may count as zero, where the emulation keeps it.
//
// Layout: a workgroup of 16 x 16 invocations computes a 64 x 64 tile of C, each invocation a
// 4 x 4 block held in registers (4 values of A and 4 of B per step of k feed 16 products); K is
// walked in slices of 16. Tile loads follow the operand's memory order (transposed or not), so
// neighbouring invocations read neighbouring words.
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WebgpuBackendLike } from './program.ts';
import { HALF_BITS_WGSL } from './half-bits.ts';
import { wordsPerRow } from './half-pack.ts';
import { F16_MARKER } from '../webgpu-f16.ts';

const TILE = 64; // rows and columns of C per workgroup
const TK = 16; // k per tile
const WG = 16; // invocations per side: each owns TILE / WG = 4 rows and 4 columns
const LOADS = (TILE * TK) / (WG * WG); // tile elements each invocation loads, per operand

export interface HalfMatMulSpec {
  transA: boolean;
  transB: boolean;
  bias: boolean;
  /** true: int32 packed halves [M, ceil(N / 2)]; false: float32 [M, N] holding half values. */
  packedOut: boolean;
}

/** Reads op(X)[row, col] of a packed matrix as f16 (zero outside), for X = A or B. */
function loader(name: string, trans: boolean, rows: string, cols: string, words: string): string {
  return `
  fn load${name}(p : i32, q : i32) -> f16 {
    if (p >= ${rows} || q >= ${cols}) { return f16(0.0); }
    let i = ${trans ? 'q' : 'p'};
    let j = ${trans ? 'p' : 'q'};
    return bitcast<vec2<f16>>(${name}[i * ${words} + (j >> 1u)])[j & 1];
  }`;
}

/** Writes C[row, col] and C[row, col + 1] (v0, v1; col even), rounded to half, float32 or packed. */
function store(spec: HalfMatMulSpec): string {
  const b = (c: string) => (spec.bias ? ` + BIAS[${c}]` : '');
  const body = spec.packedOut
    ? `let lo = halfBits(v0${b('col')});
      var hi = 0u;
      if (col + 1 < uniforms.n) { hi = halfBits(v1${b('col + 1')}); }
      result[row * ((uniforms.n + 1) / 2) + col / 2] = bitcast<i32>(lo | (hi << 16u));`
    : `result[row * uniforms.n + col] = halfValue(halfBits(v0${b('col')}));
      if (col + 1 < uniforms.n) { result[row * uniforms.n + col + 1] = halfValue(halfBits(v1${b('col + 1')})); }`;
  return `
  fn store(row : i32, col : i32, v0 : f32, v1 : f32) {
    if (row >= uniforms.m || col >= uniforms.n) { return; }
    ${body}
  }`;
}

function userCode(spec: HalfMatMulSpec): string {
  // Invocation-load t fills one element of each tile, chosen so that neighbouring t read
  // neighbouring memory. A tile [TILE rows][TK]: memory order is along k unless transposed (then along rows).
  const [ar, ak] = spec.transA ? [`t % ${TILE}`, `t / ${TILE}`] : [`t / ${TK}`, `t % ${TK}`];
  // B tile [TK][TILE cols]: memory order is along columns unless transposed (then along k).
  const [bk, bc] = spec.transB ? [`t % ${TK}`, `t / ${TK}`] : [`t / ${TILE}`, `t % ${TILE}`];
  return `${F16_MARKER}
  var<workgroup> tileA : array<array<f16, ${TK}>, ${TILE}>;
  var<workgroup> tileB : array<array<f16, ${TILE}>, ${TK}>;
  ${HALF_BITS_WGSL}
  ${loader('A', spec.transA, 'uniforms.m', 'uniforms.k', 'uniforms.aWords')}
  ${loader('B', spec.transB, 'uniforms.k', 'uniforms.n', 'uniforms.bWords')}
  ${store(spec)}
  fn main() {
    let tx = i32(localId.x) * 4;
    let ty = i32(localId.y) * 4;
    let li = i32(localIndex);
    let r0 = i32(workgroupId.y) * ${TILE};
    let c0 = i32(workgroupId.x) * ${TILE};
    var acc : array<array<f32, 4>, 4>;
    for (var k0 = 0; k0 < uniforms.k; k0 = k0 + ${TK}) {
      for (var e = 0; e < ${LOADS}; e = e + 1) {
        let t = li + e * ${WG * WG};
        tileA[${ar}][${ak}] = loadA(r0 + ${ar}, k0 + ${ak});
        tileB[${bk}][${bc}] = loadB(k0 + ${bk}, c0 + ${bc});
      }
      workgroupBarrier();
      for (var kk = 0; kk < ${TK}; kk = kk + 1) {
        var b : array<f32, 4>;
        for (var j = 0; j < 4; j = j + 1) { b[j] = f32(tileB[kk][tx + j]); }
        for (var i = 0; i < 4; i = i + 1) {
          let a = f32(tileA[ty + i][kk]);
          for (var j = 0; j < 4; j = j + 1) { acc[i][j] = acc[i][j] + a * b[j]; }
        }
      }
      workgroupBarrier();
    }
    for (var i = 0; i < 4; i = i + 1) {
      store(r0 + ty + i, c0 + tx, acc[i][0], acc[i][1]);
      store(r0 + ty + i, c0 + tx + 2, acc[i][2], acc[i][3]);
    }
  }`;
}

function program(spec: HalfMatMulSpec, m: number, n: number): WebGPUProgram {
  return {
    variableNames: spec.bias ? ['A', 'B', 'BIAS'] : ['A', 'B'],
    outputShape: spec.packedOut ? [m, wordsPerRow(n)] : [m, n],
    shaderKey: `inrank_half_matmul_${+spec.transA}${+spec.transB}${+spec.bias}${+spec.packedOut}`,
    size: false,
    uniforms: 'm : i32, n : i32, k : i32, aWords : i32, bWords : i32,',
    workgroupSize: [WG, WG, 1],
    dispatchLayout: { x: [1], y: [0] },
    dispatch: [Math.ceil(n / TILE), Math.ceil(m / TILE), 1],
    getUserCode: () => userCode(spec),
  };
}

/** op(A) op(B) (+ bias) for packed A [ra, ca] and B [rb, cb]; bias float32 [N]. */
export function halfMatMul(backend: WebgpuBackendLike, a: TensorInfo, aShape: [number, number], b: TensorInfo,
  bShape: [number, number], spec: HalfMatMulSpec, bias?: TensorInfo): TensorInfo {
  const [m, k] = spec.transA ? [aShape[1], aShape[0]] : aShape;
  const [kb, n] = spec.transB ? [bShape[1], bShape[0]] : bShape;
  if (k !== kb) throw new Error(`halfMatMul: inner sizes differ (${k} vs ${kb})`);
  if (spec.bias !== (bias !== undefined) || (bias && (bias.shape.length !== 1 || bias.shape[0] !== n))) {
    throw new Error(`halfMatMul: bias must be float32 [${n}] exactly when spec.bias`);
  }
  const inputs = bias ? [a, b, bias] : [a, b];
  const dims = [m, n, k, wordsPerRow(aShape[1]), wordsPerRow(bShape[1])];
  return backend.runWebGPUProgram(program(spec, m, n), inputs, spec.packedOut ? 'int32' : 'float32',
    dims.map((d) => ({ type: 'int32', data: [d] })));
}
