// Singular values from the factors and pruning, against dense float64 SVDs of B A.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Matrix } from 'ml-matrix';
import { factorGramArrays, singularValuesOfFactors } from '../harness/train/inrank/spectrum.ts';
import { singularValuesFromGrams } from '../harness/train/inrank/gram-spectrum.ts';
import { pruneFactors } from '../harness/train/inrank/prune.ts';
import { choleskyLower, linalgPath, lowerCongruence, setLinalgPath, symmetricEigenvalues } from '../harness/train/inrank/linalg.ts';
import { EigenvalueDecomposition } from 'ml-matrix';
import { denseProduct, denseSingularValues, denseTruncation, factorsWithSpectrum, maxAbs, randomMatrix, useCpuBackend } from './inrank-fixtures.ts';

before(useCpuBackend);

function spectrumOf(a: Float32Array, b: Float32Array, inF: number, outF: number, k: number): Float64Array {
  const [ta, tb] = [tf.tensor2d(a, [k, inF]), tf.tensor2d(b, [outF, k])];
  try {
    return singularValuesOfFactors(ta, tb);
  } finally {
    tf.dispose([ta, tb]);
  }
}

test('singular values of random factors match a dense SVD to 1e-4 relative', () => {
  for (const [inF, outF, k, seed] of [
    [96, 160, 24, 1],
    [160, 64, 40, 2],
    [128, 128, 64, 3],
  ] as const) {
    const a = randomMatrix(k, inF, seed, 1 / Math.sqrt(inF));
    const b = randomMatrix(outF, k, seed + 10, 1 / Math.sqrt(k));
    const got = spectrumOf(a, b, inF, outF, k);
    const want = denseSingularValues(denseProduct(b, a, outF, k, inF)).slice(0, k);
    assert.equal(got.length, k);
    for (let i = 0; i < k; i++) {
      assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-4 * want[i]!, `${inF}x${outF} k=${k}: s[${i}] ${got[i]} vs ${want[i]}`);
    }
  }
});

test('a decaying spectrum: top values to 1e-4 relative, small ones to ~sqrt(eps32) of the largest', () => {
  const inF = 200;
  const outF = 120;
  const s = Array.from({ length: 48 }, (_v, i) => 10 * Math.pow(0.8, i)); // 10 down to 2.8e-4
  const { a, b } = factorsWithSpectrum(inF, outF, s, 21);
  const got = spectrumOf(a, b, inF, outF, s.length);
  const want = denseSingularValues(denseProduct(b, a, outF, s.length, inF));
  for (let i = 0; i < s.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (want[i]! > 1e-2 * want[0]!) assert.ok(err <= 1e-4 * want[i]!, `s[${i}] ${got[i]} vs ${want[i]}`);
    else assert.ok(err <= 1e-3 * want[0]!, `small s[${i}] ${got[i]} vs ${want[i]} (abs err ${err})`);
  }
});

test('a rank-deficient active block (A rows repeated) still gives the right nonzero values', () => {
  const inF = 80;
  const outF = 60;
  const k = 12;
  const a = randomMatrix(k, inF, 5, 0.1);
  a.copyWithin(inF * 6, 0, inF * 6); // rows 6..11 repeat rows 0..5: rank 6
  const b = randomMatrix(outF, k, 6, 0.3);
  const got = spectrumOf(a, b, inF, outF, k);
  const want = denseSingularValues(denseProduct(b, a, outF, k, inF));
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-4 * want[i]!, `s[${i}] ${got[i]} vs ${want[i]}`);
  for (let i = 6; i < k; i++) assert.ok(got[i]! <= 1e-3 * want[0]!, `s[${i}] should be ~0, got ${got[i]}`);
});

test('from the two Grams alone, in float64 (the worker-thread path): the same accuracy, rank-deficient blocks too', () => {
  const fromGrams = (a: Float32Array, b: Float32Array, inF: number, outF: number, k: number): Float64Array => {
    const [ta, tb] = [tf.tensor2d(a, [k, inF]), tf.tensor2d(b, [outF, k])];
    try {
      const { gramA, gramB } = factorGramArrays(ta, tb);
      return singularValuesFromGrams(gramA, gramB, k);
    } finally {
      tf.dispose([ta, tb]);
    }
  };
  const [inF, outF, k] = [160, 64, 40];
  const a = randomMatrix(k, inF, 2, 1 / Math.sqrt(inF));
  const b = randomMatrix(outF, k, 12, 1 / Math.sqrt(k));
  const want = denseSingularValues(denseProduct(b, a, outF, k, inF));
  const got = fromGrams(a, b, inF, outF, k);
  for (let i = 0; i < k; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-4 * want[i]!, `s[${i}] ${got[i]} vs ${want[i]}`);

  const deficient = randomMatrix(12, 80, 5, 0.1);
  deficient.copyWithin(80 * 6, 0, 80 * 6); // rank 6: Cholesky refuses, the eigen root takes over
  const b2 = randomMatrix(60, 12, 6, 0.3);
  const want2 = denseSingularValues(denseProduct(b2, deficient, 60, 12, 80));
  const got2 = fromGrams(deficient, b2, 80, 60, 12);
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(got2[i]! - want2[i]!) <= 1e-4 * want2[i]!, `s[${i}] ${got2[i]} vs ${want2[i]}`);
  for (let i = 6; i < 12; i++) assert.ok(got2[i]! <= 1e-3 * want2[0]!, `s[${i}] should be ~0, got ${got2[i]}`);
  assert.throws(() => singularValuesFromGrams(new Float64Array(4), new Float64Array(9), 2), /must be 2 x 2/);
});

test('pruning equals the dense truncated SVD within 1e-4, with sqrt(s) in each factor', () => {
  for (const [inF, outF, k, r, seed] of [
    [96, 160, 24, 7, 31],
    [160, 64, 40, 25, 32],
    [64, 64, 16, 16, 33],
  ] as const) {
    const a = randomMatrix(k, inF, seed, 1 / Math.sqrt(inF));
    const b = randomMatrix(outF, k, seed + 10, 1 / Math.sqrt(k));
    const p = pruneFactors(tf.tensor2d(a, [k, inF]), tf.tensor2d(b, [outF, k]), r);
    assert.deepEqual(p.A.shape, [r, inF]);
    assert.deepEqual(p.B.shape, [outF, r]);
    const W = denseProduct(b, a, outF, k, inF);
    const want = denseTruncation(W, r);
    const got = denseProduct(p.B.dataSync() as Float32Array, p.A.dataSync() as Float32Array, outF, r, inF);
    const err = maxAbs(Matrix.sub(got, want));
    assert.ok(err <= 1e-4 * maxAbs(W), `${inF}x${outF} k=${k} r=${r}: max |B'A' - trunc| = ${err}`);
    // Balanced: A' A'^T = B'^T B' = diag(s_r).
    const s = denseSingularValues(W);
    const AAt = tf.matMul(p.A, p.A, false, true).arraySync() as number[][];
    const BtB = tf.matMul(p.B, p.B, true, false).arraySync() as number[][];
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < r; j++) {
        const d = i === j ? s[i]! : 0;
        assert.ok(Math.abs(AAt[i]![j]! - d) <= 1e-4 * s[0]!, `A'A'^T[${i},${j}] = ${AAt[i]![j]} want ${d}`);
        assert.ok(Math.abs(BtB[i]![j]! - d) <= 1e-4 * s[0]!, `B'^TB'[${i},${j}] = ${BtB[i]![j]} want ${d}`);
      }
    }
    tf.dispose([p.A, p.B]);
  }
});

for (const path of ['javascript', 'lapack'] as const) {
  test(`values-only symmetric eigenvalues match ml-matrix; Cholesky and the congruence are exact; Cholesky refuses a singular matrix (${path})`, () => {
    setLinalgPath(path); // 'lapack' throws when the addon or its LAPACK is missing: .ci/run builds it
    try {
      for (const [n, seed] of [[1, 1], [2, 2], [7, 3], [60, 4], [150, 5]] as const) {
        const X = new Matrix(n, n);
        const g = randomMatrix(n, n, seed);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) X.set(i, j, g[i * n + j]!);
        const S = X.add(X.transpose()); // indefinite symmetric
        const want = new EigenvalueDecomposition(S, { assumeSymmetric: true }).realEigenvalues.sort((p, q) => q - p);
        const got = symmetricEigenvalues(Float64Array.from(S.to1DArray()), n);
        const scale = Math.max(...want.map(Math.abs));
        for (let i = 0; i < n; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-10 * scale, `n=${n} eig[${i}] ${got[i]} vs ${want[i]}`);
        const spd = X.mmul(X.transpose());
        const L = choleskyLower(Float64Array.from(spd.to1DArray()), n)!;
        const Lm = Matrix.from1DArray(n, n, L);
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(L[i * n + j], 0, `n=${n}: L is lower triangular`);
        assert.ok(maxAbs(Matrix.sub(Lm.mmul(Lm.transpose()), spd)) <= 1e-10 * maxAbs(spd), `n=${n}: L L^T = a`);
        const core = lowerCongruence(L, Float64Array.from(S.to1DArray()), n);
        const wantCore = Lm.transpose().mmul(S).mmul(Lm);
        assert.ok(maxAbs(Matrix.sub(Matrix.from1DArray(n, n, core), wantCore)) <= 1e-10 * maxAbs(wantCore), `n=${n}: L^T S L`);
      }
      // rank 1: [[1, 2], [2, 4]]
      assert.equal(choleskyLower(Float64Array.from([1, 2, 2, 4]), 2, 1e-6), null);
      assert.equal(choleskyLower(Float64Array.from([1, 2, 2, 1]), 2), null, 'indefinite');
      assert.equal(linalgPath(), path);
    } finally {
      setLinalgPath('lapack');
    }
  });
}
