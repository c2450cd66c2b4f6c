// The native matmul switch: INRANK_NATIVE_MATMUL=0 keeps the wasm kernels, a missing addon
// leaves the wasm path working, OPENBLAS_NUM_THREADS reaches OpenBLAS, and enable / disable
// swap the registered kernels cleanly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import {
  NATIVE_ADDON_PATH_ENV, NATIVE_MATMUL_ENV, blasThreads, disableNativeMatmul, enableNativeMatmul,
  loadBlasAddon, nativeMatmulStatus,
} from '../harness/train/backend/blas.ts';

const blasModule = pathToFileURL(path.resolve('harness/train/backend/blas.ts')).href;
const linalgModule = pathToFileURL(path.resolve('harness/train/inrank/linalg.ts')).href;
// The child lives in a temporary folder, so it names the project's packages by their files.
const resolveHere = createRequire(import.meta.url).resolve;
const tfjsCore = pathToFileURL(resolveHere('@tensorflow/tfjs-core')).href;
const tfjsWasm = pathToFileURL(resolveHere('@tensorflow/tfjs-backend-wasm')).href;

/** Runs a small ESM script in a fresh Node (module state starts empty there); returns its JSON. */
function runChild(body: string, env: Record<string, string>): Record<string, unknown> {
  const dir = mkdtempSync(path.join(tmpdir(), 'blas-switch-'));
  try {
    const file = path.join(dir, 'child.mts');
    writeFileSync(file, [
      `import * as tf from ${JSON.stringify(tfjsCore)};`,
      `import ${JSON.stringify(tfjsWasm)};`,
      `import * as blas from ${JSON.stringify(blasModule)};`,
      `await tf.setBackend('wasm');`,
      body,
    ].join('\n'));
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', file], {
      env: { ...process.env, [NATIVE_MATMUL_ENV]: '', ...env }, encoding: 'utf8', cwd: process.cwd(),
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A product checked against its value computed by hand, on whatever path is registered.
const PRODUCT_CHECK = `
const c = tf.matMul(tf.tensor2d([[1, 2, 3], [4, 5, 6]]), tf.tensor2d([[1, 0], [0, 1], [1, 1]]), false, false).arraySync();
const ct = tf.matMul(tf.tensor2d([[1, 4], [2, 5], [3, 6]]), tf.tensor2d([[1, 0, 1], [0, 1, 1]]), true, true).arraySync();`;

// The switch is set by each test here, whatever the suite runs with.
const switchSetting = process.env[NATIVE_MATMUL_ENV];

before(async () => {
  delete process.env[NATIVE_MATMUL_ENV];
  const addon = loadBlasAddon();
  if (!addon.loaded) throw new Error(`These tests need the OpenBLAS addon: ${addon.reason}`);
  assert.ok(await tf.setBackend('wasm'));
});

after(() => {
  disableNativeMatmul();
  if (switchSetting !== undefined) process.env[NATIVE_MATMUL_ENV] = switchSetting;
});

test(`${NATIVE_MATMUL_ENV}=0 keeps the wasm kernels registered`, () => {
  disableNativeMatmul();
  const wasmKernel = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
  process.env[NATIVE_MATMUL_ENV] = '0';
  try {
    const status = enableNativeMatmul();
    assert.deepEqual({ enabled: status.enabled, path: status.path }, { enabled: false, path: 'wasm' });
    assert.match(status.reason, /INRANK_NATIVE_MATMUL=0/);
    assert.equal(tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc, wasmKernel);
  } finally {
    delete process.env[NATIVE_MATMUL_ENV];
  }
});

test('enable registers both kernels once; disable restores the wasm ones', () => {
  disableNativeMatmul();
  const originals = ['BatchMatMul', '_FusedMatMul'].map((name) => tf.getKernel(name, 'wasm')!);
  const first = enableNativeMatmul();
  assert.equal(first.enabled, true);
  assert.equal(first.path, 'openblas');
  assert.match(first.reason, /cblas_sgemm from lib\w*blas/);
  const replaced = ['BatchMatMul', '_FusedMatMul'].map((name) => tf.getKernel(name, 'wasm')!.kernelFunc);
  replaced.forEach((fn, i) => assert.notEqual(fn, originals[i]!.kernelFunc));
  assert.deepEqual(enableNativeMatmul(), first, 'a second enable changes nothing');
  assert.deepEqual(['BatchMatMul', '_FusedMatMul'].map((name) => tf.getKernel(name, 'wasm')!.kernelFunc), replaced);
  disableNativeMatmul();
  assert.equal(nativeMatmulStatus().path, 'wasm');
  ['BatchMatMul', '_FusedMatMul'].forEach((name, i) => assert.equal(tf.getKernel(name, 'wasm')!.kernelFunc, originals[i]!.kernelFunc));
});

test('a missing addon leaves the wasm path in place and working, and rank determinations on JavaScript', () => {
  const result = runChild(`${PRODUCT_CHECK}
const status = blas.enableNativeMatmul();
const linalg = await import(${JSON.stringify(linalgModule)});
const eig = Array.from(linalg.symmetricEigenvalues(Float64Array.of(2, 1, 1, 2), 2));
console.log(JSON.stringify({ status, c, ct, after: tf.matMul(tf.tensor2d([[2]]), tf.tensor2d([[3]])).arraySync(), linalg: linalg.linalgPath(), eig }));`,
  { [NATIVE_ADDON_PATH_ENV]: path.join(tmpdir(), 'no-such-dir', 'inrank_blas.node') });
  const status = result.status as { enabled: boolean; path: string; reason: string };
  assert.equal(status.enabled, false);
  assert.equal(status.path, 'wasm');
  assert.match(status.reason, /native addon not built/);
  assert.deepEqual(result.c, [[4, 5], [10, 11]]);
  assert.deepEqual(result.ct, [[4, 5], [10, 11]]);
  assert.deepEqual(result.after, [[6]]);
  assert.equal(result.linalg, 'javascript');
  assert.deepEqual((result.eig as number[]).map((v) => Math.round(v * 1e9) / 1e9), [3, 1]);
});

test('OPENBLAS_NUM_THREADS reaches OpenBLAS and the status line', () => {
  const result = runChild(`const status = blas.enableNativeMatmul();
${PRODUCT_CHECK}
console.log(JSON.stringify({ status, threads: blas.blasThreads(), c, ct }));`, { OPENBLAS_NUM_THREADS: '1' });
  const status = result.status as { enabled: boolean; reason: string };
  assert.equal(status.enabled, true);
  assert.match(status.reason, /, 1 thread\(s\)$/);
  assert.equal(result.threads, 1);
  // Both products on the OpenBLAS path, checked by hand: [[1,2,3],[4,5,6]]·[[1,0],[0,1],[1,1]].
  assert.deepEqual(result.c, [[4, 5], [10, 11]]);
  // Aᵀ·Bᵀ with A = [[1,4],[2,5],[3,6]] and B = [[1,0,1],[0,1,1]]: the same product as above.
  assert.deepEqual(result.ct, [[4, 5], [10, 11]]);
  assert.ok(blasThreads() >= 1);
});
