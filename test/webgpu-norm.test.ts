// The WGSL sum of squares behind the global gradient norm (backend/webgpu-kernels/sum-squares.ts)
// against the generic Square + Sum per tensor on the webgpu backend: 17 tensors of assorted
// shapes (3 runs of up to 7, so two levels of partial sums), one of them large enough for many
// workgroups. Skipped with the reason where Dawn finds no adapter (lavapipe is enough).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { registerWebgpuKernels, unregisterWebgpuKernels } from '../harness/train/backend/webgpu-kernels/index.ts';
import { AdamW } from '../harness/train/optim/adamw.ts';
import { FusedKernel } from '../harness/train/ops/fused.ts';
import { setMatmulPath } from '../harness/train/backend/select.ts';
import { gaussian } from './inrank-fixtures.ts';

let noAdapter: string | null = null;

before(async () => {
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = create([]);
    (globalThis as unknown as { navigator: unknown }).navigator = { gpu };
    if ((await gpu.requestAdapter()) === null) throw new Error('Dawn found no WebGPU adapter');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not start');
    await tf.ready();
    setMatmulPath('webgpu'); // addMany's grouping on this backend (the generic path's)
  } catch (err) {
    noAdapter = (err as Error).message.split('\n')[0]!;
  }
});

after(() => {
  unregisterWebgpuKernels();
  setMatmulPath('cpu');
});

test('WGSL sum of squares over many gradients equals the generic global norm, in a few dispatches', async (t) => {
  if (noAdapter !== null) return t.skip(`no WebGPU: ${noAdapter}`);
  const shapes = [[300, 257], [5], [7, 3], [1], [64, 64], [13], [2, 3, 4], [99], [31, 17], [8], [256], [3, 3], [1000], [4, 4], [6], [77, 5], [2]];
  const values = shapes.map((s, i) => gaussian(s.reduce((a, b) => a * b, 1), 40 + i));
  const grads = new Map(shapes.map((s, i) => [`g${i}`, tf.tensor(values[i]!, s)]));
  const exact = values.reduce((sum, v) => v.reduce((s, x) => s + x * x, sum), 0); // float64 on the host
  assert.ok(registerWebgpuKernels().enabled);
  let fused: tf.Tensor = tf.scalar(0);
  const info = await tf.profile(() => {
    fused = AdamW.globalNormSquared(grads);
  });
  assert.deepEqual(info.kernels.map((k) => k.name), [FusedKernel.sumSquares]);
  assert.deepEqual(fused.shape, []);
  unregisterWebgpuKernels();
  const generic = AdamW.globalNormSquared(grads);
  const [f, g] = [(await fused.data())[0]!, (await generic.data())[0]!];
  assert.ok(Math.abs(f - exact) <= 1e-5 * exact && Math.abs(g - exact) <= 1e-5 * exact, `fused ${f}, generic ${g}, float64 ${exact}`);
  tf.dispose([fused, generic, ...grads.values()]);
});
