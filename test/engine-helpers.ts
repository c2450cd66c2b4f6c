// Shared helpers of the engine tests: a backend, random tensors, and a directional
// finite-difference check that works in float32.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setMatmulPath, type MatmulPathName } from '../harness/train/backend/select.ts';
import { fillNormal, streamKey } from '../harness/train/ops/random.ts';

export async function useCpu(path: MatmulPathName = 'cpu'): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
  setMatmulPath(path);
}

export function randn(shape: number[], seed: number, std = 1): tf.Tensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  fillNormal(streamKey(seed, 77), data, std);
  return tf.tensor(data, shape);
}

/**
 * Compares the analytic directional derivative <grad, u> with (f(x + eps u) - f(x - eps u)) / 2 eps
 * for a random direction u in each input. f returns a scalar loss; grads are the analytic ones.
 * Returns the relative error per input.
 */
export function directionalCheck(
  inputs: tf.Tensor[],
  f: (xs: tf.Tensor[]) => number,
  grads: tf.Tensor[],
  eps = 1e-2,
): number[] {
  return inputs.map((x, idx) => {
    const u = randn(x.shape, 1000 + idx);
    const plus = inputs.map((t, j) => (j === idx ? tf.add(t, tf.mul(u, eps)) : t));
    const minus = inputs.map((t, j) => (j === idx ? tf.sub(t, tf.mul(u, eps)) : t));
    const numeric = (f(plus) - f(minus)) / (2 * eps);
    const analytic = tf.sum(tf.mul(grads[idx]!, u)).dataSync()[0]!;
    return Math.abs(numeric - analytic) / Math.max(1e-3, Math.abs(numeric), Math.abs(analytic));
  });
}

/**
 * The wasm backend, for the tests that train for a while, on the matmul path the environment
 * selects: the OpenBLAS kernels where the addon is built, the wasm kernels with
 * INRANK_NATIVE_MATMUL=0 (.ci/run runs these tests both ways).
 */
export async function useWasm(): Promise<void> {
  const { selectBackend } = await import('../harness/train/backend/select.ts');
  await selectBackend('wasm');
}
