// The low-rank layer's fused WGSL kernels (backend/webgpu-kernels/lowrank.ts, matmul-strided.ts)
// against the generic path on the webgpu backend: the strided matmul against tf.matMul for every
// transpose pair (with a bias and a zero-padded output), and a LowRankLinear's forward and
// backward at active ranks 5 and 13 of 17 (not multiples of the 32-wide tile). Skipped with the
// reason where Dawn finds no adapter (lavapipe is enough).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { registerWebgpuKernels, unregisterWebgpuKernels } from '../harness/train/backend/webgpu-kernels/index.ts';
import { matMulStrided } from '../harness/train/backend/webgpu-kernels/matmul-strided.ts';
import type { WebgpuBackendLike } from '../harness/train/backend/webgpu-kernels/program.ts';
import { LowRankLinear } from '../harness/train/inrank/lowrank-linear.ts';
import { FusedKernel } from '../harness/train/ops/fused.ts';
import { fp32 } from '../harness/train/precision/index.ts';
import { gaussian } from './inrank-fixtures.ts';
import { startWebgpuForKernels, stopWebgpuForKernels } from './webgpu-fixture.ts';
import { assertClose } from './kernel-compare.ts';

let noAdapter: string | null = null;

before(async () => {
  noAdapter = await startWebgpuForKernels();
});

after(stopWebgpuForKernels);

const read = async (ts: tf.Tensor[]): Promise<Float32Array[]> => {
  const out = await Promise.all(ts.map(async (x) => (await x.data()) as Float32Array));
  tf.dispose(ts);
  return out;
};

test('strided WGSL matmul equals tf.matMul for every transpose pair, with a bias and a zero-padded output', async (t) => {
  if (noAdapter !== null) return t.skip(`no WebGPU: ${noAdapter}`);
  const [m, n, k] = [37, 45, 13];
  const backend = tf.backend() as unknown as WebgpuBackendLike;
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    const a = tf.tensor2d(gaussian(m * k, 1), transA ? [k, m] : [m, k]);
    const b = tf.tensor2d(gaussian(k * n, 2), transB ? [n, k] : [k, n]);
    const bias = tf.tensor1d(gaussian(n, 3));
    const info = matMulStrided(backend, a, b, { transA, transB, m, n, k, outShape: [m + 3, n + 5] }, bias);
    const got = tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor2D;
    const want = tf.tidy(() => tf.pad(tf.add(tf.matMul(a, b, transA, transB), bias), [[0, 3], [0, 5]]));
    assertClose(await read([got]), await read([want]), 1e-5, `transA ${transA}, transB ${transB}`);
    tf.dispose([a, b, bias]);
  }
});

/** y, dx and the gradients of A, B and the bias of one forward and backward. */
function layerStep(layer: LowRankLinear, x: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor[] {
  return tf.tidy(() => {
    const f = layer.forward(x, false, fp32);
    const grads = new Map<string, tf.Tensor>();
    const dx = f.backward(dy, grads);
    return [f.y, dx, grads.get('A')!, grads.get('B')!, grads.get('bias')!];
  });
}

for (const [initModes, bufferModes] of [[5, 0], [5, 8]] as const) {
  test(`fused low-rank layer at active rank ${initModes + bufferModes} of 17: forward and backward equal the generic path`, async (t) => {
    if (noAdapter !== null) return t.skip(`no WebGPU: ${noAdapter}`);
    const [tokens, inF, outF] = [41, 19, 23];
    const layer = new LowRankLinear({
      inFeatures: inF, outFeatures: outF, maxRank: 17, initModes, bufferModes, determineRank: false, explainedRatio: 0.9,
      warmupIter: 0, gapIter: 1, microBatchesPerTick: 1, initScale: 1, seed: 7,
    });
    layer.params().find((p) => p.name === 'bias')!.variable.assign(tf.tensor1d(gaussian(outF, 4)));
    const x = tf.tensor2d(gaussian(tokens * inF, 5), [tokens, inF]);
    const dy = tf.tensor2d(gaussian(tokens * outF, 6), [tokens, outF]);
    assert.ok(registerWebgpuKernels().enabled);
    let fusedOut: tf.Tensor[] = [];
    const info = await tf.profile(() => {
      fusedOut = layerStep(layer, x, dy);
    });
    const names = info.kernels.map((k) => k.name);
    assert.ok(names.includes(FusedKernel.lowRank) && names.includes(FusedKernel.lowRankGrad), `fused kernels did not run: ${names.join(', ')}`);
    assert.ok(!names.includes('Slice') && !names.includes('Concat'), `the fused path copied blocks: ${names.join(', ')}`);
    const fused = await read(fusedOut);
    unregisterWebgpuKernels();
    const generic = await read(layerStep(layer, x, dy));
    assertClose(fused, generic, 1e-5, `rank ${initModes + bufferModes}`);
    tf.dispose([x, dy]);
    layer.dispose();
  });
}
