// Loads the optional native addon (native/, built at `npm install`) and opens the system
// OpenBLAS through it, once per thread. Free of tfjs, so that spectrum worker threads can
// use the addon's LAPACK routines too (harness/train/inrank/linalg.ts); blas.ts registers
// its matmul kernels with the wasm backend.
import { createRequire } from 'node:module';

/** The addon's functions (native/src/blas_addon.cc, lapack.cc). Offsets count floats, not bytes. */
export interface BlasAddon {
  load(): string;
  getThreads(): number;
  setThreads(threads: number): void;
  gemm(heap: ArrayBuffer, transA: boolean, transB: boolean, m: number, n: number, k: number,
    aOffsets: Float64Array, bOffsets: Float64Array, cOffset: number): void;
  /**
   * C_i = alpha op(A_i) op(B_i) for each i, every operand at its own float offset with its own
   * leading dimension (row-major). Absent in an addon built before it.
   */
  gemmStrided?(heap: ArrayBuffer, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    aOffsets: Float64Array, lda: number, bOffsets: Float64Array, ldb: number, cOffsets: Float64Array, ldc: number): void;
  epilogue(heap: ArrayBuffer, cOffset: number, batch: number, m: number, n: number,
    biasOffset: number, biasRows: number, biasCols: number, activation: number,
    preluOffset: number, preluRows: number, preluCols: number, leakyAlpha: number): void;
  /**
   * A fused elementwise kernel on the heap (native/src/fused.cc): op code, the float offsets of
   * its buffers, its parameters. Absent in an addon built before these kernels existed.
   */
  fused?(heap: ArrayBuffer, op: number, offsets: Float64Array, params: Float64Array): number | undefined;
  /** Whether the opened library has dpotrf_, dsyev_ and cblas_dtrmm. */
  lapackAvailable(): boolean;
  /** Row-major lower L with a = L L^T, or null when a pivot is at or below relativeFloor x max diag(a). */
  cholesky(a: Float64Array, n: number, relativeFloor: number): Float64Array | null;
  /** L^T G L for row-major lower-triangular L and symmetric G, exactly symmetric. */
  congruence(l: Float64Array, g: Float64Array, n: number): Float64Array;
  /** Eigenvalues of a symmetric matrix, descending. */
  symmetricEigenvalues(a: Float64Array, n: number): Float64Array;
}

/** Overrides where the built addon is looked for (tests point it at a missing file). */
export const NATIVE_ADDON_PATH_ENV = 'INRANK_NATIVE_ADDON';
const DEFAULT_ADDON_PATH = '../../../native/build/Release/inrank_blas.node';

let addonCache: { addon: BlasAddon | null; library: string; reason: string } | null = null;

/** Loads the addon and opens BLAS once; on failure says why, in one line. */
export function loadBlasAddon(): { loaded: boolean; library: string; reason: string } {
  if (addonCache === null) {
    const require = createRequire(import.meta.url);
    let addon: BlasAddon;
    try {
      addon = require(process.env[NATIVE_ADDON_PATH_ENV] || DEFAULT_ADDON_PATH) as BlasAddon;
    } catch (err) {
      addonCache = {
        addon: null, library: '',
        reason: `native addon not built (${firstLine(err)}); build it with \`npm run install\` (needs a C++ compiler)`,
      };
      return publicAddonState();
    }
    try {
      const library = addon.load();
      addonCache = { addon, library, reason: `cblas_sgemm from ${library}` };
    } catch (err) {
      addonCache = { addon: null, library: '', reason: `${firstLine(err)}; install libopenblas0-pthread` };
    }
  }
  return publicAddonState();
}

/** The loaded addon; throws with the reason when it could not be loaded. */
export function loadedAddon(): BlasAddon {
  const state = loadBlasAddon();
  if (!state.loaded) throw new Error(`OpenBLAS unavailable: ${state.reason}`);
  return addonCache!.addon!;
}

function publicAddonState(): { loaded: boolean; library: string; reason: string } {
  const state = addonCache!;
  return { loaded: state.addon !== null, library: state.library, reason: state.reason };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
