// Singular values of the product B[:, :k] A[:k] from its factors, never forming the
// out x in matrix or taking its SVD.
//
// Method: the tensor backend forms the k x k Gram GA = A A^T (2 k^2 in FLOPs: a cheap
// matMul, on a GPU backend as cheap as any). With GA = L L^T (Cholesky, float64 on the
// host), A = L Q^T for a Q with orthonormal columns, so B A = (B L) Q^T and the singular
// values of B A are those of B L: the square roots of the eigenvalues of the k x k core
// C = L^T (B^T B) L, which the backend forms in float32 (B^T B never leaves it). The
// core's eigenvalues are taken in float64 on the host (symmetric-eigen.ts). When GA is
// not numerically positive definite, L is replaced by P diag(sqrt(lambda)) from GA's
// eigen-decomposition (ml-matrix).
//
// Accuracy: the Grams and the core are formed in float32, so each s_i^2 carries an
// absolute error of order eps32 * s_max^2. The top singular values come out to ~1e-6
// relative; a value s_i far below s_max has absolute error about eps32 * s_max^2 / s_i,
// and values under about sqrt(eps32) * s_max (2.4e-4 s_max) are noise. The rank rule
// depends on s through sums of s_i and s_i^2 over the spectrum, which these errors
// barely move (measured in the tests and by scripts/bench-rank.ts).
import * as tf from '@tensorflow/tfjs-core';
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { matMulNT, matMulTN } from './matmul.ts';
import { choleskyLower, symmetricEigenvalues } from './symmetric-eigen.ts';

export interface FactorGrams {
  /** A A^T (k x k), float64, exactly symmetric. */
  gramA: Matrix;
  /** B^T B (k x k), float64, exactly symmetric. */
  gramB: Matrix;
}

/** Reads a k x k float32 tensor into an exactly symmetric float64 matrix. */
function symmetricFrom(t: tf.Tensor2D): Matrix {
  const [k] = t.shape;
  const data = t.dataSync();
  const m = new Matrix(k, k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      const v = 0.5 * (data[i * k + j]! + data[j * k + i]!);
      m.set(i, j, v);
      m.set(j, i, v);
    }
  }
  return m;
}

/** Gram matrices of the active factors a = A[:k] (k x in) and b = B[:, :k] (out x k). */
export function factorGrams(a: tf.Tensor2D, b: tf.Tensor2D): FactorGrams {
  if (a.shape[0] !== b.shape[1]) throw new Error(`factor shapes do not chain: A ${a.shape}, B ${b.shape}`);
  const ga = matMulNT(a, a);
  const gb = matMulTN(b, b);
  try {
    return { gramA: symmetricFrom(ga), gramB: symmetricFrom(gb) };
  } finally {
    ga.dispose();
    gb.dispose();
  }
}

/** C = S^T G S for k x k float64 matrices, with plain loops over row-major arrays (ml-matrix's get/set is slow here). */
export function congruence(s: Matrix, g: Matrix): Matrix {
  const k = s.rows;
  const r = s.columns;
  const S = Float64Array.from(s.to1DArray());
  const G = Float64Array.from(g.to1DArray());
  // T = G S (k x r)
  const T = new Float64Array(k * r);
  for (let i = 0; i < k; i++) {
    const ti = i * r;
    for (let p = 0; p < k; p++) {
      const gip = G[i * k + p]!;
      if (gip === 0) continue;
      const sp = p * r;
      for (let j = 0; j < r; j++) T[ti + j] += gip * S[sp + j]!;
    }
  }
  // C = S^T T (r x r), symmetric: fill the upper triangle and mirror.
  const C = new Float64Array(r * r);
  for (let p = 0; p < k; p++) {
    const sp = p * r;
    const tp = p * r;
    for (let i = 0; i < r; i++) {
      const spi = S[sp + i]!;
      if (spi === 0) continue;
      const ci = i * r;
      for (let j = i; j < r; j++) C[ci + j] += spi * T[tp + j]!;
    }
  }
  const out = new Matrix(r, r);
  for (let i = 0; i < r; i++) {
    for (let j = i; j < r; j++) {
      const v = C[i * r + j]!;
      out.set(i, j, v);
      out.set(j, i, v);
    }
  }
  return out;
}

/** A square root S of the Gram GA (GA = S S^T): Cholesky when positive definite, else from the eigen-decomposition. */
export function gramRoot(gramA: Matrix, preferCholesky = true): Matrix {
  if (preferCholesky) {
    const chol = new CholeskyDecomposition(gramA);
    if (chol.isPositiveDefinite()) return chol.lowerTriangularMatrix;
  }
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

const CHOLESKY_FLOOR = 1e-6;

/** Row-major float64 copy of a k x k tensor, symmetrized exactly. */
function symmetricArray(t: tf.Tensor2D): Float64Array {
  const [k] = t.shape;
  const data = t.dataSync();
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      const v = 0.5 * (data[i * k + j]! + data[j * k + i]!);
      out[i * k + j] = v;
      out[j * k + i] = v;
    }
  }
  return out;
}

/** Where a spectrum's time went (ms): the backend's matMuls and read-backs, and the host's float64 work. */
export interface SpectrumTimings {
  backendMs: number;
  hostMs: number;
}

/** Singular values (descending, length k) of b a, for a = A[:k] (k x in) and b = B[:, :k] (out x k). */
export function singularValuesOfFactors(a: tf.Tensor2D, b: tf.Tensor2D, timings?: SpectrumTimings): Float64Array {
  const t0 = performance.now();
  const k = a.shape[0];
  if (k !== b.shape[1]) throw new Error(`factor shapes do not chain: A ${a.shape}, B ${b.shape}`);
  const gaTensor = matMulNT(a, a);
  const gramA = symmetricArray(gaTensor);
  gaTensor.dispose();
  const t1 = performance.now();
  // A pivot under CHOLESKY_FLOOR x the largest diagonal means A is singular to float32
  // precision (condition number over ~1e3): its noise pivots would blow up L.
  let root = choleskyLower(gramA, k, CHOLESKY_FLOOR);
  if (!root) {
    const m = new Matrix(k, k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) m.set(i, j, gramA[i * k + j]!);
    root = Float64Array.from(gramRoot(m, false).to1DArray());
  }
  const rootF32 = Float32Array.from(root);
  const t2 = performance.now();
  const core = tf.tidy(() => {
    const L = tf.tensor2d(rootF32, [k, k]);
    const gb = matMulTN(b, b);
    return tf.matMul(matMulTN(L, gb), L) as tf.Tensor2D;
  });
  const coreArray = symmetricArray(core);
  core.dispose();
  const t3 = performance.now();
  const s = symmetricEigenvalues(coreArray, k).map((v) => Math.sqrt(Math.max(0, v)));
  if (timings) {
    timings.backendMs += t1 - t0 + (t3 - t2);
    timings.hostMs += t2 - t1 + (performance.now() - t3);
  }
  return s;
}
