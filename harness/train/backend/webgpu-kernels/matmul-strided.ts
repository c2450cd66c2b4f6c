// A tiled WGSL matmul on strided operands, for the low-rank layer's products on the active
// blocks of its factors: out = op(a) op(b) (+ bias), op a transpose flag, where each operand is
// read in place with its row length (lda, ldb) as stride, so that A[:k] (a row prefix) and
// B[:, :k] (a column prefix) need no slice copy; and the output may be larger than the product
// (outRows x outCols >= m x n), the rest written as zeros, so that a gradient of the active
// block lands in its parameter's full layout without a concat with uploaded zeros.
//
// Why not tfjs-backend-webgpu's own BatchMatMul (MatMulPackedProgram, also tiled, with transpose
// flags and a bias epilogue): it takes its strides from the operand's shape, so a column prefix
// needs a copy, and it has no padded output. Where the whole factors are active (stage 2) the
// low-rank layer keeps that kernel (tf.fused.matMul).
//
// Tiling: a workgroup of 8 x 8 threads computes a 32 x 32 output tile, 4 x 4 per thread, over
// inner tiles of 16 staged in workgroup memory; each load maps consecutive threads to
// consecutive addresses of the operand as stored (the mapping depends on the transpose flag).
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { run, type WebgpuBackendLike } from './program.ts';

const TILE = 32;
const INNER = 16;

export interface StridedProduct {
  transA: boolean;
  transB: boolean;
  /** Product rows, columns and inner length. */
  m: number;
  n: number;
  k: number;
  /** Row lengths of a and b as stored (default: their last dimension). */
  lda?: number;
  ldb?: number;
  /** The output's shape (default [m, n]); cells past the product are zeros. */
  outShape?: [number, number];
}

/** Which element of `A` / `B` the tile loader reads: consecutive threads walk the stored rows. */
function loader(name: 'A' | 'B', trans: boolean): string {
  // a(i, p): row-major [M, K] unless transposed ([K, M]); b(p, j): [K, N] unless transposed ([N, K]).
  const inner = name === 'A' ? !trans : trans; // the inner index p runs along the stored row
  const ld = name === 'A' ? 'uniforms.lda' : 'uniforms.ldb';
  const limit = name === 'A' ? 'uniforms.dimM' : 'uniforms.dimN';
  const start = name === 'A' ? 'row0' : 'col0';
  return `
    for (var e = 0; e < ${(TILE * INNER) / 64}; e++) {
      let idx = tid + e * 64;
      let kk = ${inner ? `idx % ${INNER}` : `idx / ${TILE}`};
      let rr = ${inner ? `idx / ${INNER}` : `idx % ${TILE}`};
      let o = ${start} + rr;
      let p = k0 + kk;
      var v = 0.0;
      if (o < ${limit} && p < uniforms.dimK) { v = ${name}[${inner ? `o * ${ld} + p` : `p * ${ld} + o`}]; }
      ${name}s[kk][rr] = v;
    }`;
}

function stridedProgram(s: StridedProduct, outShape: [number, number], bias: boolean): WebGPUProgram {
  return {
    variableNames: bias ? ['A', 'B', 'Bias'] : ['A', 'B'],
    outputShape: outShape,
    shaderKey: `inrank_mm_strided_${s.transA}_${s.transB}_${bias}`,
    uniforms: 'dimM : i32, dimN : i32, dimK : i32, lda : i32, ldb : i32,',
    workgroupSize: [8, 8, 1],
    dispatchLayout: { x: [1], y: [0] },
    dispatch: [Math.ceil(outShape[1] / TILE), Math.ceil(outShape[0] / TILE), 1],
    getUserCode: () => `
      var<workgroup> As : array<array<f32, ${TILE}>, ${INNER}>;
      var<workgroup> Bs : array<array<f32, ${TILE}>, ${INNER}>;
      fn main() {
        let row0 = i32(workgroupId.y) * ${TILE};
        let col0 = i32(workgroupId.x) * ${TILE};
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let tid = ty * 8 + tx;
        var acc : array<array<f32, 4>, 4>;
        for (var k0 = 0; k0 < uniforms.dimK; k0 += ${INNER}) {
          ${loader('A', s.transA)}
          ${loader('B', s.transB)}
          workgroupBarrier();
          for (var kk = 0; kk < ${INNER}; kk++) {
            for (var i = 0; i < 4; i++) {
              let av = As[kk][ty * 4 + i];
              for (var j = 0; j < 4; j++) { acc[i][j] = fma(av, Bs[kk][tx * 4 + j], acc[i][j]); }
            }
          }
          workgroupBarrier();
        }
        for (var i = 0; i < 4; i++) {
          for (var j = 0; j < 4; j++) {
            let r = row0 + ty * 4 + i;
            let c = col0 + tx * 4 + j;
            if (r < uniforms.outShape[0] && c < uniforms.outShape[1]) {
              var v = 0.0;
              if (r < uniforms.dimM && c < uniforms.dimN) { v = acc[i][j]${bias ? ' + Bias[c]' : ''}; }
              result[r * uniforms.outShape[1] + c] = v;
            }
          }
        }
      }`,
  };
}

/** op(a) op(b) (+ bias) on strided operands (see StridedProduct); one dispatch. */
export function matMulStrided(backend: WebgpuBackendLike, a: TensorInfo, b: TensorInfo, s: StridedProduct, bias?: TensorInfo): TensorInfo {
  const outShape = s.outShape ?? [s.m, s.n];
  const lda = s.lda ?? a.shape[a.shape.length - 1]!;
  const ldb = s.ldb ?? b.shape[b.shape.length - 1]!;
  const program = stridedProgram(s, outShape, bias !== undefined);
  const uniforms = [s.m, s.n, s.k, lda, ldb].map((v) => ({ type: 'int32' as const, data: [v] }));
  return run(backend, program, bias ? [a, b, bias] : [a, b], uniforms);
}
