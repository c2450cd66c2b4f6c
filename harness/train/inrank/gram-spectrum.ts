// Singular values of B A from the two k x k Gram matrices GA = A A^T and GB = B^T B alone,
// entirely in float64 on the host (no tensor backend), so that it can run in a worker thread
// (spectrum-pool.ts). The method is spectrum.ts's: with GA = S S^T, the singular values of
// B A are the square roots of the eigenvalues of the core C = S^T GB S. Here the core is also
// formed in float64, so the only float32 rounding left is in the two Grams.
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { choleskyLower, lowerCongruence, symmetricEigenvalues } from './linalg.ts';
import { congruenceArray } from './symmetric-eigen.ts';

/** Pivots under this fraction of GA's largest diagonal mean A is singular to float32 precision (condition over ~1e3). */
export const CHOLESKY_FLOOR = 1e-6;

/** A square root S = P diag(sqrt(lambda)) of the Gram GA (GA = S S^T) from its eigen-decomposition; defined when GA is singular. */
export function eigenRoot(gramA: Matrix): Matrix {
  const eig = new EigenvalueDecomposition(gramA, { assumeSymmetric: true });
  const P = eig.eigenvectorMatrix;
  const lam = eig.realEigenvalues;
  const k = gramA.rows;
  const S = new Matrix(k, k);
  for (let j = 0; j < k; j++) {
    const root = Math.sqrt(Math.max(0, lam[j]!));
    for (let i = 0; i < k; i++) S.set(i, j, P.get(i, j) * root);
  }
  return S;
}

/**
 * Row-major square root of GA: its Cholesky factor (lower triangular) when GA is positive
 * definite above CHOLESKY_FLOOR, else the eigen-decomposition root (a full matrix).
 */
export function gramRootArray(gramA: Float64Array, k: number): { root: Float64Array; lowerTriangular: boolean } {
  const L = choleskyLower(gramA, k, CHOLESKY_FLOOR);
  if (L) return { root: L, lowerTriangular: true };
  const m = Matrix.from1DArray(k, k, gramA);
  return { root: Float64Array.from(eigenRoot(m).to1DArray()), lowerTriangular: false };
}

/** Row-major float64 copy of a k x k matrix, made exactly symmetric (a float32 Gram product is symmetric only to rounding). */
export function symmetrized(g: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      const v = 0.5 * (g[i * k + j]! + g[j * k + i]!);
      out[i * k + j] = v;
      out[j * k + i] = v;
    }
  }
  return out;
}

/** Singular values (descending, length k) of B A given GA = A A^T and GB = B^T B (row-major k x k, as the backend read them back). */
export function singularValuesFromGrams(gramA: ArrayLike<number>, gramB: ArrayLike<number>, k: number): Float64Array {
  if (gramA.length !== k * k || gramB.length !== k * k) {
    throw new Error(`Gram matrices must be ${k} x ${k} (got ${gramA.length} and ${gramB.length} entries)`);
  }
  const ga = symmetrized(gramA, k);
  const gb = symmetrized(gramB, k);
  const { root, lowerTriangular } = gramRootArray(ga, k);
  const core = lowerTriangular ? lowerCongruence(root, gb, k) : congruenceArray(root, gb, k);
  return symmetricEigenvalues(core, k).map((v) => Math.sqrt(Math.max(0, v)));
}
