// Tanh-approximation GELU forward and backward in one WGSL pass each (the generic ops/gelu.ts
// takes 5 and 7 kernels): y = x sigmoid(2c (x + a x^3)), dx = dy (s + x s (1 - s) 2c (1 + 3a x^2)).
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, run, type WebgpuBackendLike } from './program.ts';

const HELPERS = `
  const GELU_C : f32 = 0.7978845608028654;
  const GELU_A : f32 = 0.044715;
  fn geluSigmoid(v : f32) -> f32 {
    return 1.0 / (1.0 + exp(-2.0 * GELU_C * (v + GELU_A * v * v * v)));
  }`;

export function geluForward(backend: WebgpuBackendLike, x: TensorInfo): TensorInfo {
  const program = flatProgram({
    key: 'gelu_fwd', inputs: ['X'], outputShape: x.shape, helpers: HELPERS,
    body: 'let v = X[index]; setOutputAtIndex(index, v * geluSigmoid(v));',
  });
  return run(backend, program, [x]);
}

export function geluBackward(backend: WebgpuBackendLike, x: TensorInfo, dy: TensorInfo): TensorInfo {
  const program = flatProgram({
    key: 'gelu_bwd', inputs: ['X', 'DY'], outputShape: x.shape, helpers: HELPERS,
    body: `let v = X[index];
      let s = geluSigmoid(v);
      let du = 2.0 * GELU_C * (1.0 + 3.0 * GELU_A * v * v);
      setOutputAtIndex(index, DY[index] * (s + v * s * (1.0 - s) * du));`,
  });
  return run(backend, program, [x, dy]);
}
