// The InRank layer takes the same transpose path as the dense layers: on the OpenBLAS path its
// products pass transpose flags to the native kernel (no Transpose kernel runs in a training
// forward and backward), and the results equal the explicit-transpose formulation of the plain
// wasm path. Needs the addon built (`npm run install`) and OpenBLAS, like blas-kernels.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { NATIVE_MATMUL_ENV, disableNativeMatmul, enableNativeMatmul, loadBlasAddon } from '../harness/train/backend/blas.ts';
import { setMatmulPath } from '../harness/train/backend/select.ts';
import { LowRankLinear } from '../harness/train/inrank/lowrank-linear.ts';
import { fp32, gaussian } from './inrank-fixtures.ts';

const switchSetting = process.env[NATIVE_MATMUL_ENV];

before(async () => {
  delete process.env[NATIVE_MATMUL_ENV];
  const addon = loadBlasAddon();
  if (!addon.loaded) throw new Error(`This test needs the OpenBLAS addon: ${addon.reason}`);
  assert.ok(await tf.setBackend('wasm'));
  await tf.ready();
});

after(() => {
  disableNativeMatmul();
  setMatmulPath('cpu');
  if (switchSetting !== undefined) process.env[NATIVE_MATMUL_ENV] = switchSetting;
});

/** One training forward and backward of a stage-2 style layer (rank 24, no buffer); outputs and kernel names. */
async function pass(): Promise<{ outputs: Float32Array[]; kernels: string[] }> {
  const l = new LowRankLinear({
    inFeatures: 64, outFeatures: 96, maxRank: 24, initModes: 24, bufferModes: 0, determineRank: false,
    explainedRatio: 0.9, warmupIter: 0, gapIter: 1, microBatchesPerTick: 1, initScale: 1, seed: 5,
  });
  const x = tf.tensor2d(gaussian(128 * 64, 1), [128, 64]);
  const dy = tf.tensor2d(gaussian(128 * 96, 2), [128, 96]);
  let outputs: Float32Array[] = [];
  const info = await tf.profile(() => {
    const f = l.forward(x, true, fp32);
    const grads = new Map<string, tf.Tensor>();
    const dx = f.backward(dy, grads);
    outputs = [f.y, dx, grads.get('A')!, grads.get('B')!, grads.get('bias')!].map((t) => (t.dataSync() as Float32Array).slice());
    tf.dispose([f.y, dx, ...grads.values()]);
  });
  tf.dispose([x, dy]);
  l.dispose();
  return { outputs, kernels: info.kernels.map((k) => k.name) };
}

test('on OpenBLAS the low-rank layer passes transpose flags (no Transpose kernel) and matches the wasm formulation', async () => {
  assert.equal(enableNativeMatmul().path, 'openblas');
  setMatmulPath('openblas');
  const native = await pass();
  assert.ok(native.kernels.includes('BatchMatMul'), `no matmul ran: ${native.kernels.join(', ')}`);
  assert.deepEqual(native.kernels.filter((k) => k === 'Transpose'), [], `kernels: ${native.kernels.join(', ')}`);

  disableNativeMatmul();
  setMatmulPath('wasm');
  const plain = await pass();
  assert.ok(plain.kernels.includes('Transpose'), 'the plain wasm path should transpose explicitly');
  native.outputs.forEach((got, i) => {
    const want = plain.outputs[i]!;
    assert.equal(got.length, want.length);
    got.forEach((v, j) => assert.ok(Math.abs(v - want[j]!) <= 1e-4 * (1 + Math.abs(want[j]!)), `output ${i}[${j}]: ${v} vs ${want[j]}`));
  });
});
