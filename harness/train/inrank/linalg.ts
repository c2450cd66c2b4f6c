// The float64 small-matrix routines of a rank determination (Cholesky, the congruence
// L^T G L, symmetric eigenvalues), from LAPACK through the native addon when it is built and
// the system OpenBLAS has them, else in JavaScript (symmetric-eigen.ts).
// At k = 300 the JavaScript loops take tens of milliseconds per layer; LAPACK a few
// (scripts/bench-rank.ts measures both). INRANK_NATIVE_LAPACK=0 keeps the JavaScript path.
import { type BlasAddon, loadBlasAddon, loadedAddon } from '../backend/native-addon.ts';
import * as js from './symmetric-eigen.ts';

export const NATIVE_LAPACK_ENV = 'INRANK_NATIVE_LAPACK';

export type LinalgPath = 'lapack' | 'javascript';

let lapack: BlasAddon | null | undefined;

function nativeLapack(): BlasAddon | null {
  if (lapack === undefined) {
    const usable = process.env[NATIVE_LAPACK_ENV] !== '0' && loadBlasAddon().loaded && loadedAddon().lapackAvailable();
    lapack = usable ? loadedAddon() : null;
  }
  return lapack;
}

/** Chooses the implementation for this thread (benchmarks and tests compare the two in one process). */
export function setLinalgPath(path: LinalgPath): void {
  if (path === 'javascript') {
    lapack = null;
    return;
  }
  const addon = loadedAddon();
  if (!addon.lapackAvailable()) throw new Error(`the BLAS library the addon opened (${loadBlasAddon().library}) has no LAPACK`);
  lapack = addon;
}

/** Which implementation the functions below use in this thread. */
export function linalgPath(): LinalgPath {
  return nativeLapack() ? 'lapack' : 'javascript';
}

/** Row-major lower L with a = L L^T, or null when a pivot falls to relativeFloor x the largest diagonal entry or below. */
export function choleskyLower(a: Float64Array, n: number, relativeFloor = 0): Float64Array | null {
  const native = nativeLapack();
  return native ? native.cholesky(a, n, relativeFloor) : js.choleskyLower(a, n, relativeFloor);
}

/** Eigenvalues of a symmetric n x n matrix (row-major), descending. */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  const native = nativeLapack();
  return native ? native.symmetricEigenvalues(a, n) : js.symmetricEigenvalues(a, n);
}

/** C = L^T G L for row-major lower-triangular L and symmetric G, exactly symmetric. */
export function lowerCongruence(L: Float64Array, G: Float64Array, n: number): Float64Array {
  const native = nativeLapack();
  return native ? native.congruence(L, G, n) : js.congruenceArray(L, G, n, n, true);
}
