// Small-matrix routines in float64 JavaScript: eigenvalues (no vectors) of a symmetric matrix,
// its Cholesky factor, and the congruence S^T G S. linalg.ts uses LAPACK instead when it can.
//
// Why not ml-matrix here: its EigenvalueDecomposition always accumulates eigenvectors
// and works on nested arrays; measured on a 300 x 300 core it takes 0.5-1 s, which a
// rank determination of 48 layers cannot afford. Values only, on flat Float64Arrays,
// the same textbook method (Householder reduction to tridiagonal form, then the implicit
// QL iteration with Wilkinson-type shifts) is about an order of magnitude faster. The
// tests check it against ml-matrix. ml-matrix still does everything that needs vectors.

/**
 * Lower-triangular L with a = L L^T for a symmetric positive-definite n x n matrix
 * (row-major); null when a pivot falls to relativeFloor x the largest diagonal entry or
 * below (a is not positive definite to the precision its entries carry).
 */
export function choleskyLower(a: Float64Array, n: number, relativeFloor = 0): Float64Array | null {
  const L = new Float64Array(n * n);
  let maxDiag = 0;
  for (let j = 0; j < n; j++) maxDiag = Math.max(maxDiag, a[j * n + j]!);
  const floor = relativeFloor * maxDiag;
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let diag = a[rj + j]!;
    for (let p = 0; p < j; p++) diag -= L[rj + p]! * L[rj + p]!;
    if (!(diag > floor)) return null;
    const ljj = Math.sqrt(diag);
    L[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let v = a[ri + j]!;
      for (let p = 0; p < j; p++) v -= L[ri + p]! * L[rj + p]!;
      L[ri + j] = v / ljj;
    }
  }
  return L;
}

/** Householder reduction of symmetric a (row-major, lower triangle used, overwritten) to tridiagonal (diag d, subdiag e[1..n-1]). */
function tridiagonalize(a: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    const ri = i * n;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(a[ri + k]!);
      if (scale === 0) {
        e[i] = a[ri + l]!;
      } else {
        for (let k = 0; k <= l; k++) {
          a[ri + k]! /= scale;
          h += a[ri + k]! * a[ri + k]!;
        }
        const f = a[ri + l]!;
        const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        a[ri + l] = f - g;
        // p = A u / h over the leading (l+1) block, kept in e[0..l]; K = u.p / 2h.
        let up = 0;
        for (let j = 0; j <= l; j++) {
          const rj = j * n;
          let s = 0;
          for (let k = 0; k <= j; k++) s += a[rj + k]! * a[ri + k]!;
          for (let k = j + 1; k <= l; k++) s += a[k * n + j]! * a[ri + k]!;
          e[j] = s / h;
          up += e[j]! * a[ri + j]!;
        }
        const K = up / (h + h);
        // A <- A - u q^T - q u^T with q = p - K u (lower triangle only).
        for (let j = 0; j <= l; j++) {
          const uj = a[ri + j]!;
          const qj = e[j]! - K * uj;
          e[j] = qj;
          const rj = j * n;
          for (let k = 0; k <= j; k++) a[rj + k]! -= uj * e[k]! + qj * a[ri + k]!;
        }
      }
    } else {
      e[i] = a[ri + l]!;
    }
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i]!;
}

/** Eigenvalues of the symmetric tridiagonal (d, e) by implicit QL; d is overwritten with them (unsorted). */
function tridiagonalEigenvalues(d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        if (Math.abs(e[m]!) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (++iterations > 60) throw new Error('symmetric eigenvalues: QL iteration did not converge');
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1]! -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (deflated) continue;
      d[l]! -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/** Eigenvalues of a symmetric n x n matrix (row-major; not modified), in descending order. */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  if (n === 0) return new Float64Array(0);
  const work = Float64Array.from(a.subarray(0, n * n));
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(work, n, d, e);
  tridiagonalEigenvalues(d, e, n);
  return d.sort().reverse();
}

/**
 * C = S^T G S for a k x r matrix S and a symmetric k x k G (row-major), an exactly symmetric
 * r x r matrix. A lower-triangular S (r = k) skips its zeros: about k^3 multiply-adds, not 2k^3.
 */
export function congruenceArray(S: Float64Array, G: Float64Array, k: number, r = k, lowerTriangular = false): Float64Array {
  if (lowerTriangular && r !== k) throw new Error(`a lower-triangular S must be square (got ${k} x ${r})`);
  // T = G S (k x r); row p of a lower-triangular S is zero past column p.
  const T = new Float64Array(k * r);
  for (let i = 0; i < k; i++) {
    const ti = i * r;
    for (let p = 0; p < k; p++) {
      const gip = G[i * k + p]!;
      if (gip === 0) continue;
      const sp = p * r;
      const last = lowerTriangular ? p : r - 1;
      for (let j = 0; j <= last; j++) T[ti + j] += gip * S[sp + j]!;
    }
  }
  // C = S^T T: the upper triangle, then mirrored.
  const C = new Float64Array(r * r);
  for (let p = 0; p < k; p++) {
    const sp = p * r;
    const last = lowerTriangular ? p : r - 1;
    for (let i = 0; i <= last; i++) {
      const spi = S[sp + i]!;
      if (spi === 0) continue;
      const ci = i * r;
      for (let j = i; j < r; j++) C[ci + j] += spi * T[sp + j]!;
    }
  }
  for (let i = 0; i < r; i++) for (let j = i + 1; j < r; j++) C[j * r + i] = C[i * r + j]!;
  return C;
}
