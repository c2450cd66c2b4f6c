// The embedding's host path on wasm moves rows inside the wasm heap (backend/wasm-heap.ts): the
// lookup and the gradient equal plain loops over the same numbers bit for bit, repeated ids and
// all, with and without the OpenBLAS matmul, and whether or not the heap grew in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { embeddingGrad, embeddingLookup } from '../harness/train/ops/embedding.ts';
import { disableNativeMatmul, enableNativeMatmul, NATIVE_MATMUL_ENV } from '../harness/train/backend/blas.ts';
import { heapPlaces } from '../harness/train/backend/wasm-heap.ts';

const vocab = 97;
const c = 24;
const ids = Int32Array.from({ length: 300 }, (_, i) => (i * 37 + (i % 7) * 11) % vocab); // repeats, skips some rows
const tableData = Float32Array.from({ length: vocab * c }, (_, i) => Math.sin(i * 0.7) * 3);
const doutData = Float32Array.from({ length: ids.length * c }, (_, i) => Math.cos(i * 1.3) / 7);

function expectedLookup(): Float32Array {
  const out = new Float32Array(ids.length * c);
  ids.forEach((id, i) => out.set(tableData.subarray(id * c, id * c + c), i * c));
  return out;
}

function expectedGrad(): Float32Array {
  const g = new Float32Array(vocab * c);
  ids.forEach((id, i) => { for (let j = 0; j < c; j++) g[id * c + j]! += doutData[i * c + j]!; });
  return g;
}

for (const matmul of ['openblas', 'wasm'] as const) {
  test(`embedding in the wasm heap: lookup and gradient equal plain loops bit for bit (${matmul} matmul)`, async () => {
    assert.ok(await tf.setBackend('wasm'));
    const saved = process.env[NATIVE_MATMUL_ENV];
    delete process.env[NATIVE_MATMUL_ENV];
    if (matmul === 'openblas') assert.ok(enableNativeMatmul().enabled, 'the OpenBLAS addon is built here');
    else disableNativeMatmul();
    try {
      const table = tf.tensor2d(tableData, [vocab, c]);
      const dout = tf.tensor2d(doutData, [ids.length, c]);
      assert.ok(heapPlaces([table, dout]) !== null, 'the tensors live in the heap: the heap path runs');
      const out = embeddingLookup(table, ids);
      // Grow the heap between the two: the places are read after each allocation.
      const big = tf.fill([4096, 4096], 1, 'float32');
      const g = embeddingGrad(dout, ids, vocab);
      assert.deepEqual(out.shape, [ids.length, c]);
      assert.deepEqual(Array.from(out.dataSync()), Array.from(expectedLookup()));
      assert.deepEqual(g.shape, [vocab, c]);
      assert.deepEqual(Array.from(g.dataSync()), Array.from(expectedGrad()));
      assert.deepEqual(Array.from(table.dataSync()), Array.from(tableData), 'the table is left as it was');
      tf.dispose([table, dout, out, big, g]);
    } finally {
      disableNativeMatmul();
      if (saved !== undefined) process.env[NATIVE_MATMUL_ENV] = saved;
    }
  });
}
