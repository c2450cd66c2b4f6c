// Pruning a low-rank layer to rank r: the best rank-r approximation of B[:, :k] A[:k]
// by truncated SVD, with sqrt of each singular value put into each new factor
// (A' = sqrt(S_r) V_r^T, B' = U_r sqrt(S_r)), as the reference's stage-1 resize does.
//
// Done through the factors, never the out x in matrix: with GA = A A^T = P L P^T and
// S = P L^(1/2), A = S Q^T for a Q with orthonormal columns, so B A = (B S) Q^T. The
// core C = S^T GB S = X Sig^2 X^T gives B S = U Sig X^T, hence
//   B' = U_r Sig_r^(1/2)           = B (S X_r Sig_r^(-1/2))
//   A' = Sig_r^(1/2) X_r^T Q^T     = (Sig_r^(1/2) X_r^T S^+) A
// Two k x r / r x k transforms computed in float64, applied by the tensor backend.
import * as tf from '@tensorflow/tfjs-core';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { congruence, factorGrams, factorGramsAsync, type FactorGrams } from './spectrum.ts';

export interface PrunedFactors {
  /** r x in */
  A: tf.Tensor2D;
  /** out x r */
  B: tf.Tensor2D;
  /** The singular values kept (descending, length r). */
  singularValues: Float64Array;
}

/** Eigenvalues below this fraction of the largest are treated as zero in the pseudo-inverse of S. */
const RELATIVE_EIGEN_FLOOR = 1e-12;

function sortedEigen(m: Matrix): { values: number[]; vectors: Matrix } {
  const eig = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const values = eig.realEigenvalues;
  const order = values.map((_v, i) => i).sort((x, y) => values[y]! - values[x]!);
  const V = eig.eigenvectorMatrix;
  const vectors = new Matrix(m.rows, order.length);
  order.forEach((src, dst) => {
    for (let i = 0; i < m.rows; i++) vectors.set(i, dst, V.get(i, src));
  });
  return { values: order.map((i) => values[i]!), vectors };
}

function checkRank(a: tf.Tensor2D, r: number): void {
  const k = a.shape[0];
  if (!Number.isInteger(r) || r < 1 || r > k) throw new Error(`prune rank ${r} must be an integer in 1..${k}`);
}

/** Best rank-r factors of b a, for a = A[:k] (k x in) and b = B[:, :k] (out x k); r <= k. */
export function pruneFactors(a: tf.Tensor2D, b: tf.Tensor2D, r: number): PrunedFactors {
  checkRank(a, r);
  return pruneWithGrams(a, b, r, factorGrams(a, b));
}

/** pruneFactors with an asynchronous read of the Grams (GPU backends). */
export async function pruneFactorsAsync(a: tf.Tensor2D, b: tf.Tensor2D, r: number): Promise<PrunedFactors> {
  checkRank(a, r);
  return pruneWithGrams(a, b, r, await factorGramsAsync(a, b));
}

function pruneWithGrams(a: tf.Tensor2D, b: tf.Tensor2D, r: number, { gramA, gramB }: FactorGrams): PrunedFactors {
  const k = a.shape[0];

  const ga = sortedEigen(gramA);
  const floor = Math.max(ga.values[0]!, 0) * RELATIVE_EIGEN_FLOOR;
  const S = new Matrix(k, k);
  const Spinv = new Matrix(k, k); // S^+ = L^(-1/2) P^T, dropping directions with no energy
  for (let j = 0; j < k; j++) {
    const lam = ga.values[j]!;
    const root = lam > floor ? Math.sqrt(lam) : 0;
    for (let i = 0; i < k; i++) {
      const p = ga.vectors.get(i, j);
      S.set(i, j, p * root);
      Spinv.set(j, i, root > 0 ? p / root : 0);
    }
  }

  const core = sortedEigen(congruence(S, gramB));
  const sig = core.values.slice(0, r).map((v) => Math.sqrt(Math.max(0, v)));
  const toB = new Float32Array(k * r); // S X_r Sig_r^(-1/2), k x r
  const toA = new Float32Array(r * k); // Sig_r^(1/2) X_r^T S^+, r x k
  const SX = S.mmul(core.vectors.subMatrix(0, k - 1, 0, r - 1));
  const XtSp = core.vectors.subMatrix(0, k - 1, 0, r - 1).transpose().mmul(Spinv);
  for (let c = 0; c < r; c++) {
    const root = Math.sqrt(sig[c]!);
    const inv = root > 0 ? 1 / root : 0;
    for (let i = 0; i < k; i++) {
      toB[i * r + c] = SX.get(i, c) * inv;
      toA[c * k + i] = XtSp.get(c, i) * root;
    }
  }
  const factors = tf.tidy(() => ({
    A: tf.matMul(tf.tensor2d(toA, [r, k]), a) as tf.Tensor2D,
    B: tf.matMul(b, tf.tensor2d(toB, [k, r])) as tf.Tensor2D,
  }));
  return { ...factors, singularValues: Float64Array.from(sig) };
}
