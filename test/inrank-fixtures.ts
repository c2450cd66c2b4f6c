// Shared pieces of the InRank tests: the backend, seeded random matrices, dense float64 references.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Matrix, QrDecomposition, SingularValueDecomposition } from 'ml-matrix';
import type { Precision } from '../harness/train/model/linear.ts';
import { uniformStream } from '../harness/train/inrank/init.ts';

export async function useCpuBackend(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

export const fp32: Precision = { half: (x) => x };

/** Standard-normal-ish values (Box-Muller over the seeded uniform stream). */
export function gaussian(n: number, seed: number): Float32Array {
  const u = uniformStream(seed, 7, 2 * n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = Math.max(u[2 * i]!, 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u[2 * i + 1]!);
  }
  return out;
}

export function randomMatrix(rows: number, cols: number, seed: number, scale = 1): Float32Array {
  return gaussian(rows * cols, seed).map((v) => v * scale);
}

/** rows x cols with orthonormal columns (float64). */
export function orthonormal(rows: number, cols: number, seed: number): Matrix {
  const g = new Matrix(rows, cols);
  const v = gaussian(rows * cols, seed);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) g.set(i, j, v[i * cols + j]!);
  return new QrDecomposition(g).orthogonalMatrix.subMatrix(0, rows - 1, 0, cols - 1);
}

/** Factors b (out x k) and a (k x in) in float32 whose product has exactly the given singular values (then mixed by a random k x k). */
export function factorsWithSpectrum(inF: number, outF: number, s: number[], seed: number): { a: Float32Array; b: Float32Array } {
  const k = s.length;
  const U = orthonormal(outF, k, seed);
  const V = orthonormal(inF, k, seed + 1);
  const mix = orthonormal(k, k, seed + 2); // orthogonal, so B A is unchanged by the mixing
  const B = U.mmul(Matrix.diag(s)).mmul(mix);
  const A = mix.transpose().mmul(V.transpose());
  return { a: Float32Array.from(A.to1DArray()), b: Float32Array.from(B.to1DArray()) };
}

/** Dense float64 product b a from row-major float32 factors. */
export function denseProduct(b: Float32Array | Float64Array, a: Float32Array | Float64Array, outF: number, k: number, inF: number): Matrix {
  const B = new Matrix(outF, k);
  const A = new Matrix(k, inF);
  for (let i = 0; i < outF; i++) for (let j = 0; j < k; j++) B.set(i, j, b[i * k + j]!);
  for (let i = 0; i < k; i++) for (let j = 0; j < inF; j++) A.set(i, j, a[i * inF + j]!);
  return B.mmul(A);
}

export function denseSingularValues(m: Matrix): number[] {
  return new SingularValueDecomposition(m, { computeLeftSingularVectors: false, computeRightSingularVectors: false }).diagonal;
}

/** Best rank-r approximation of m by dense SVD (float64). */
export function denseTruncation(m: Matrix, r: number): Matrix {
  const svd = new SingularValueDecomposition(m, { autoTranspose: true });
  const U = svd.leftSingularVectors.subMatrix(0, m.rows - 1, 0, r - 1);
  const V = svd.rightSingularVectors.subMatrix(0, m.columns - 1, 0, r - 1);
  return U.mmul(Matrix.diag(svd.diagonal.slice(0, r))).mmul(V.transpose());
}

export function maxAbs(m: Matrix): number {
  let best = 0;
  for (const v of m.to1DArray()) best = Math.max(best, Math.abs(v));
  return best;
}
