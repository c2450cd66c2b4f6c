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
// eigen-decomposition (gram-spectrum.ts). This is the inline path (the reference's timing);
// gram-spectrum.ts does the same from the Grams alone, in float64, for worker threads.
//
// Accuracy: the Grams and the core are formed in float32, so each s_i^2 carries an
// absolute error of order eps32 * s_max^2. The top singular values come out to ~1e-6
// relative; a value s_i far below s_max has absolute error about eps32 * s_max^2 / s_i,
// and values under about sqrt(eps32) * s_max (2.4e-4 s_max) are noise. The rank rule
// depends on s through sums of s_i and s_i^2 over the spectrum, which these errors
// barely move (measured in the tests and by scripts/bench-rank.ts).
import * as tf from '@tensorflow/tfjs-core';
import { Matrix } from 'ml-matrix';
import { gramRootArray, symmetrized } from './gram-spectrum.ts';
import { congruenceArray } from './symmetric-eigen.ts';
import { matMulNT, matMulTN } from './matmul.ts';
import { symmetricEigenvalues } from './linalg.ts';

export interface FactorGrams {
  /** A A^T (k x k), float64, exactly symmetric. */
  gramA: Matrix;
  /** B^T B (k x k), float64, exactly symmetric. */
  gramB: Matrix;
}

/** Gram matrices of the active factors a = A[:k] (k x in) and b = B[:, :k] (out x k), as row-major float64 arrays. */
export function factorGramArrays(a: tf.Tensor2D, b: tf.Tensor2D): { gramA: Float64Array; gramB: Float64Array } {
  if (a.shape[0] !== b.shape[1]) throw new Error(`factor shapes do not chain: A ${a.shape}, B ${b.shape}`);
  const ga = matMulNT(a, a);
  const gb = matMulTN(b, b);
  try {
    return { gramA: symmetricArray(ga), gramB: symmetricArray(gb) };
  } finally {
    ga.dispose();
    gb.dispose();
  }
}

/** Gram matrices of the active factors as ml-matrix matrices. */
export function factorGrams(a: tf.Tensor2D, b: tf.Tensor2D): FactorGrams {
  const k = a.shape[0];
  const { gramA, gramB } = factorGramArrays(a, b);
  return { gramA: Matrix.from1DArray(k, k, gramA), gramB: Matrix.from1DArray(k, k, gramB) };
}

/** factorGrams with an asynchronous read-back (the only kind a GPU backend in Node has): both Grams in one read. */
export async function factorGramsAsync(a: tf.Tensor2D, b: tf.Tensor2D): Promise<FactorGrams> {
  const k = a.shape[0];
  if (k !== b.shape[1]) throw new Error(`factor shapes do not chain: A ${a.shape}, B ${b.shape}`);
  const both = tf.tidy(() => tf.concat([matMulNT(a, a), matMulTN(b, b)], 0));
  try {
    const data = await both.data();
    return {
      gramA: Matrix.from1DArray(k, k, symmetrized(data.subarray(0, k * k), k)),
      gramB: Matrix.from1DArray(k, k, symmetrized(data.subarray(k * k), k)),
    };
  } finally {
    both.dispose();
  }
}

/** C = S^T G S for a k x r matrix S and a symmetric k x k G (symmetric-eigen.ts does the arithmetic on flat arrays). */
export function congruence(s: Matrix, g: Matrix): Matrix {
  const C = congruenceArray(Float64Array.from(s.to1DArray()), Float64Array.from(g.to1DArray()), s.rows, s.columns);
  return Matrix.from1DArray(s.columns, s.columns, C);
}

/** Row-major float64 copy of a k x k tensor, symmetrized exactly. */
export function symmetricArray(t: tf.Tensor2D): Float64Array {
  return symmetrized(t.dataSync(), t.shape[0]);
}

/** Where a spectrum's time went (ms): the backend's matMuls and read-backs, and the host's float64 work. */
export interface SpectrumTimings {
  backendMs: number;
  hostMs: number;
}

/**
 * singularValuesOfFactors with asynchronous read-backs (two per determination: GA, then the
 * core), for backends that cannot read synchronously. Same arithmetic, same result.
 */
export async function singularValuesOfFactorsAsync(a: tf.Tensor2D, b: tf.Tensor2D): Promise<Float64Array> {
  const k = a.shape[0];
  if (k !== b.shape[1]) throw new Error(`factor shapes do not chain: A ${a.shape}, B ${b.shape}`);
  const gaTensor = matMulNT(a, a);
  const gramA = symmetrized(await gaTensor.data(), k);
  gaTensor.dispose();
  const rootF32 = Float32Array.from(gramRootArray(gramA, k).root);
  const core = tf.tidy(() => {
    const L = tf.tensor2d(rootF32, [k, k]);
    return tf.matMul(matMulTN(L, matMulTN(b, b)), L) as tf.Tensor2D;
  });
  const coreArray = symmetrized(await core.data(), k);
  core.dispose();
  return symmetricEigenvalues(coreArray, k).map((v) => Math.sqrt(Math.max(0, v)));
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
  const { root } = gramRootArray(gramA, k);
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
