// C = op(A) op(B) (+ bias) on packed half matrices (half-pack.ts), with shader-f16: the operands
// are read as f16 (bitcast of the packed words) into f16 workgroup tiles, half the bytes of a
// float32 tile. Products and sums are float32: an f16 accumulator would round at every add,
// which the emulation (float32 matmul of half-rounded inputs, rounded once at the end) does not,
// so the two paths differ only by summation order. The result is rounded to half once, as the
// emulation's precision.half(matmul) does, and written either as float32 holding that half
// value or packed. op(X) is X or X^T by the transpose flags, so no transposed copy is made.
//
// Layout: a workgroup of 8 x 16 invocations computes a 16 x 16 tile of C, each invocation two
// adjacent columns of one row (one packed word of output); K is walked in slices of 16.
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WebgpuBackendLike } from './program.ts';
import { HALF_BITS_WGSL } from './half-bits.ts';
import { wordsPerRow } from './half-pack.ts';
import { F16_MARKER } from '../webgpu-f16.ts';

const TILE = 16;

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

function epilogue(spec: HalfMatMulSpec): string {
  const b = (c: string) => (spec.bias ? ` + BIAS[${c}]` : '');
  if (spec.packedOut) {
    return `if (col < uniforms.n) {
        let lo = halfBits(acc0${b('col')});
        var hi = 0u;
        if (col + 1 < uniforms.n) { hi = halfBits(acc1${b('col + 1')}); }
        result[row * ((uniforms.n + 1) / 2) + col / 2] = bitcast<i32>(lo | (hi << 16u));
      }`;
  }
  return `if (col < uniforms.n) { result[row * uniforms.n + col] = halfValue(halfBits(acc0${b('col')})); }
      if (col + 1 < uniforms.n) { result[row * uniforms.n + col + 1] = halfValue(halfBits(acc1${b('col + 1')})); }`;
}

function userCode(spec: HalfMatMulSpec): string {
  return `${F16_MARKER}
  var<workgroup> tileA : array<array<f16, ${TILE}>, ${TILE}>;
  var<workgroup> tileB : array<array<f16, ${TILE}>, ${TILE}>;
  ${HALF_BITS_WGSL}
  ${loader('A', spec.transA, 'uniforms.m', 'uniforms.k', 'uniforms.aWords')}
  ${loader('B', spec.transB, 'uniforms.k', 'uniforms.n', 'uniforms.bWords')}
  fn main() {
    let lx = i32(localId.x);
    let ly = i32(localId.y);
    let li = i32(localIndex);
    let r0 = i32(workgroupId.y) * ${TILE};
    let c0 = i32(workgroupId.x) * ${TILE};
    var acc0 = 0.0;
    var acc1 = 0.0;
    for (var k0 = 0; k0 < uniforms.k; k0 = k0 + ${TILE}) {
      for (var e = 0; e < 2; e = e + 1) {
        let t = li + e * 128;
        let p = t / ${TILE};
        let q = t % ${TILE};
        tileA[p][q] = loadA(r0 + p, k0 + q);
        tileB[p][q] = loadB(k0 + p, c0 + q);
      }
      workgroupBarrier();
      for (var kk = 0; kk < ${TILE}; kk = kk + 1) {
        let a = f32(tileA[ly][kk]);
        acc0 = acc0 + a * f32(tileB[kk][2 * lx]);
        acc1 = acc1 + a * f32(tileB[kk][2 * lx + 1]);
      }
      workgroupBarrier();
    }
    let row = r0 + ly;
    let col = c0 + 2 * lx;
    if (row < uniforms.m) {
      ${epilogue(spec)}
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
    workgroupSize: [TILE / 2, TILE, 1],
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
