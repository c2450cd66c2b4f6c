// The OpenBLAS BatchMatMul / _FusedMatMul kernels against the wasm kernels they replace, on
// odd shapes, every transpose combination, 2-D to 4-D operands, broadcast batches, fused bias
// and activations, and gradients. Needs the addon built (`npm run install`) and OpenBLAS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import {
  NATIVE_MATMUL_ENV, disableNativeMatmul, enableNativeMatmul, loadBlasAddon, matmulCallCounts,
} from '../harness/train/backend/blas.ts';

// These tests are about the native kernels themselves, so they run them even when the suite
// runs with the switch off (INRANK_NATIVE_MATMUL=0 is for the trainer).
const switchSetting = process.env[NATIVE_MATMUL_ENV];

type Activation = 'linear' | 'relu' | 'relu6' | 'elu' | 'prelu' | 'leakyrelu' | 'sigmoid';

/**
 * Runs `compute` on the OpenBLAS kernels, then `reference` (default: the same) on the wasm
 * kernels; returns both results.
 */
function onBothPaths(compute: () => tf.Tensor | tf.Tensor[], reference = compute): { native: Float32Array[]; wasm: Float32Array[] } {
  const read = (run: typeof compute): Float32Array[] => tf.tidy(() => {
    const out = run();
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array).map((d) => d.slice());
  });
  assert.equal(enableNativeMatmul().path, 'openblas');
  const before = matmulCallCounts().openblas;
  const native = read(compute);
  assert.ok(matmulCallCounts().openblas > before, 'the OpenBLAS kernel was not called');
  disableNativeMatmul();
  const wasm = read(reference);
  enableNativeMatmul();
  return { native, wasm };
}

function relativeError(x: Float32Array, y: Float32Array): number {
  assert.equal(x.length, y.length, 'result sizes differ');
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < x.length; i++) {
    diff += (x[i]! - y[i]!) ** 2;
    norm += y[i]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
}

function assertClose(native: Float32Array[], reference: Float32Array[], label: string): void {
  assert.equal(native.length, reference.length);
  native.forEach((x, i) => {
    const err = relativeError(x, reference[i]!);
    assert.ok(err < 1e-5, `${label}: relative error ${err.toExponential(2)} (output ${i})`);
  });
}

function operandShape(batch: number[], rows: number, cols: number, transposed: boolean): number[] {
  return [...batch, ...(transposed ? [cols, rows] : [rows, cols])];
}

const TRANSPOSES: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];

before(async () => {
  delete process.env[NATIVE_MATMUL_ENV];
  const addon = loadBlasAddon();
  if (!addon.loaded) {
    throw new Error(`These tests need the OpenBLAS addon: ${addon.reason}`);
  }
  assert.ok(await tf.setBackend('wasm'), 'the wasm backend did not initialise');
  await tf.ready();
});

after(() => {
  disableNativeMatmul();
  if (switchSetting !== undefined) process.env[NATIVE_MATMUL_ENV] = switchSetting;
});

describe('OpenBLAS BatchMatMul', () => {
  test('writes into a heap that grew while allocating the output', () => {
    enableNativeMatmul();
    const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
    const start = heapBytes();
    const n = 4096;
    const m = Math.ceil(start / 4 / n) + 8; // the output alone is larger than the whole heap now
    const a = tf.randomNormal([m, 3], 0, 1, 'float32', 1);
    const b = tf.randomNormal([3, n], 0, 1, 'float32', 2);
    const c = tf.matMul(a, b);
    assert.ok(heapBytes() > start, 'the heap did not grow, so this test did not exercise growth');
    const av = a.dataSync(), bv = b.dataSync();
    const cv = c.dataSync();
    for (const [i, j] of [[0, 0], [m - 1, n - 1], [Math.floor(m / 2), 17]] as const) {
      const expected = av[i * 3]! * bv[j]! + av[i * 3 + 1]! * bv[n + j]! + av[i * 3 + 2]! * bv[2 * n + j]!;
      assert.ok(Math.abs(cv[i * n + j]! - expected) < 1e-4, `c[${i}, ${j}] = ${cv[i * n + j]}, expected ${expected}`);
    }
    tf.dispose([a, b, c]);
  });

  for (const [transA, transB] of TRANSPOSES) {
    test(`2-D odd sizes, transposeA ${transA}, transposeB ${transB}`, () => {
      for (const [m, k, n] of [[37, 53, 29], [1, 17, 5], [64, 1, 3], [1, 1, 1], [130, 67, 257]] as const) {
        const { native, wasm } = onBothPaths(() => tf.matMul(
          tf.randomNormal(operandShape([], m, k, transA), 0, 1, 'float32', m),
          tf.randomNormal(operandShape([], k, n, transB), 0, 1, 'float32', n), transA, transB));
        assertClose(native, wasm, `${m}x${k}x${n}`);
      }
    });

    test(`3-D and 4-D batches, transposeA ${transA}, transposeB ${transB}`, () => {
      for (const batch of [[5], [2, 3], [1]]) {
        const { native, wasm } = onBothPaths(() => tf.matMul(
          tf.randomNormal(operandShape(batch, 17, 23, transA), 0, 1, 'float32', 3),
          tf.randomNormal(operandShape(batch, 23, 11, transB), 0, 1, 'float32', 4), transA, transB));
        assertClose(native, wasm, `batch [${batch}]`);
      }
    });

    test(`one operand broadcast over the batch, transposeA ${transA}, transposeB ${transB}`, () => {
      const cases: Array<[number[], number[]]> = [[[4], []], [[], [4]], [[1], [6]], [[2, 3], [1]], [[2, 3], []], [[3], [2, 3]]];
      for (const [aBatch, bBatch] of cases) {
        const { native, wasm } = onBothPaths(() => tf.matMul(
          tf.randomNormal(operandShape(aBatch, 13, 7, transA), 0, 1, 'float32', 5),
          tf.randomNormal(operandShape(bBatch, 7, 9, transB), 0, 1, 'float32', 6), transA, transB));
        assertClose(native, wasm, `a batch [${aBatch}], b batch [${bBatch}]`);
      }
    });
  }

  test('both operands broadcast (numpy rules; the wasm kernel gets these wrong)', () => {
    // Reference: the same product after materialising the broadcast with tf.broadcastTo.
    for (const [aBatch, bBatch, outBatch] of [[[2, 1], [1, 3], [2, 3]], [[4, 1, 2], [3, 1], [4, 3, 2]]] as const) {
      enableNativeMatmul();
      const [native, reference] = tf.tidy(() => {
        const a = tf.randomNormal([...aBatch, 6, 5], 0, 1, 'float32', 7);
        const b = tf.randomNormal([...bBatch, 5, 4], 0, 1, 'float32', 8);
        const got = tf.matMul(a, b).dataSync().slice() as Float32Array;
        const expected = tf.matMul(tf.broadcastTo(a, [...outBatch, 6, 5]), tf.broadcastTo(b, [...outBatch, 5, 4]));
        return [got, expected.dataSync().slice() as Float32Array];
      });
      assertClose([native], [reference], `a [${aBatch}] b [${bBatch}]`);
    }
  });

  test('a zero-sized inner dimension gives zeros', () => {
    enableNativeMatmul();
    const c = tf.tidy(() => tf.matMul(tf.ones([3, 0]), tf.ones([0, 4])).dataSync().slice());
    assert.deepEqual(Array.from(c), new Array(12).fill(0));
  });

  test('the backward products of a linear layer and of attention scores', () => {
    // What a training step asks for: dX = dY·Wᵀ over a broadcast batch, dW = Xᵀ·dY over the
    // flattened tokens, and the 4-D per-head products dQ = dS·K, dK = dSᵀ·Q.
    const { native, wasm } = onBothPaths(() => {
      const x = tf.randomNormal([4, 13, 24], 0, 1, 'float32', 9);
      const w = tf.randomNormal([24, 31], 0, 1, 'float32', 10);
      const dy = tf.randomNormal([4, 13, 31], 0, 1, 'float32', 11);
      const q = tf.randomNormal([2, 3, 11, 8], 0, 1, 'float32', 12);
      const k = tf.randomNormal([2, 3, 11, 8], 0, 1, 'float32', 13);
      const ds = tf.randomNormal([2, 3, 11, 11], 0, 1, 'float32', 14);
      return [
        tf.matMul(dy, w, false, true),
        tf.matMul(tf.reshape(x, [52, 24]), tf.reshape(dy, [52, 31]), true, false),
        tf.matMul(ds, k),
        tf.matMul(ds, q, true, false),
      ];
    });
    assertClose(native, wasm, 'backward products');
  });

  test('non-float32 input falls back to the wasm kernel', () => {
    enableNativeMatmul();
    const before = matmulCallCounts().wasm;
    assert.throws(() => tf.tidy(() => tf.matMul(tf.ones([2, 2], 'int32'), tf.ones([2, 2], 'int32'))),
      /non-float32/);
    assert.equal(matmulCallCounts().wasm, before + 1);
  });
});

/** The unfused composition of a fused product: what _FusedMatMul must equal. */
function unfusedReference(product: tf.Tensor, bias: tf.Tensor | undefined, activation: Activation, prelu?: tf.Tensor): tf.Tensor {
  const x = bias === undefined ? product : tf.add(product, bias);
  switch (activation) {
    case 'linear': return x;
    case 'relu': return tf.relu(x);
    case 'relu6': return tf.relu6(x);
    case 'elu': return tf.elu(x);
    case 'prelu': return tf.prelu(x, prelu!);
    case 'leakyrelu': return tf.leakyRelu(x, 0.3);
    case 'sigmoid': return tf.sigmoid(x);
  }
}

// The reference is the unfused composition on the wasm kernels (BatchMatMul, Add, the
// activation), not the wasm _FusedMatMul kernel: that kernel adds the bias wrongly for a
// batch of matrices and for a one-element bias (checked with tfjs-backend-wasm 4.22.0).
describe('OpenBLAS _FusedMatMul', () => {
  const activations: Activation[] = ['linear', 'relu', 'relu6', 'elu', 'prelu', 'leakyrelu', 'sigmoid'];
  for (const activation of activations) {
    test(`bias + ${activation}, all transposes, 2-D to 4-D`, () => {
      for (const [transA, transB] of TRANSPOSES) {
        for (const [batch, biasShape] of [[[], [21]], [[3], [21]], [[2, 2], [19, 21]], [[2, 2], [1, 1, 1, 21]], [[3], [1]]] as const) {
          const inputs = () => ({
            a: tf.randomNormal(operandShape([...batch], 19, 14, transA), 0, 2, 'float32', 13),
            b: tf.randomNormal(operandShape([...batch], 14, 21, transB), 0, 2, 'float32', 14),
            bias: tf.randomNormal([...biasShape], 0, 1, 'float32', 15),
            prelu: tf.randomUniform([21], 0, 0.5, 'float32', 16),
          });
          const { native, wasm } = onBothPaths(() => {
            const { a, b, bias, prelu } = inputs();
            return tf.fused.matMul({
              a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: transA, transposeB: transB, bias, activation,
              preluActivationWeights: activation === 'prelu' ? prelu : undefined, leakyreluAlpha: 0.3,
            });
          }, () => {
            const { a, b, bias, prelu } = inputs();
            return unfusedReference(tf.matMul(a, b, transA, transB), bias, activation, prelu);
          });
          assertClose(native, wasm, `${activation} transposeA ${transA} transposeB ${transB} batch [${batch}] bias [${biasShape}]`);
        }
      }
    });
  }

  test('without a bias', () => {
    const a = () => tf.randomNormal([9, 5], 0, 1, 'float32', 17);
    const b = () => tf.randomNormal([5, 7], 0, 1, 'float32', 18);
    const { native, wasm } = onBothPaths(() => tf.fused.matMul({ a: a(), b: b(), activation: 'relu' }),
      () => tf.relu(tf.matMul(a(), b())));
    assertClose(native, wasm, 'no bias');
  });

  test('a bias it cannot broadcast itself goes to the wasm kernel', () => {
    enableNativeMatmul();
    const before = matmulCallCounts().wasm;
    // A rank-3 bias with a leading dimension other than 1: the wasm kernel's own error.
    assert.throws(() => tf.tidy(() => tf.fused.matMul({
      a: tf.ones([2, 3, 4]) as unknown as tf.Tensor2D, b: tf.ones([2, 4, 5]) as unknown as tf.Tensor2D, bias: tf.ones([2, 1, 5]),
    })), /rank-1 bias/);
    assert.equal(matmulCallCounts().wasm, before + 1);
  });
});
