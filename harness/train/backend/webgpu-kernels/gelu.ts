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

/** One invocation per element over x (and dy): the body reads X (and DY) at index. */
function elementwise(backend: WebgpuBackendLike, key: string, helpers: string, body: string, inputs: TensorInfo[]): TensorInfo {
  const names = ['X', 'DY'].slice(0, inputs.length);
  return run(backend, flatProgram({ key, inputs: names, outputShape: inputs[0]!.shape, helpers, body }), inputs);
}

export function geluForward(backend: WebgpuBackendLike, x: TensorInfo): TensorInfo {
  return elementwise(backend, 'gelu_fwd', HELPERS, 'let v = X[index]; setOutputAtIndex(index, v * geluSigmoid(v));', [x]);
}

export function geluBackward(backend: WebgpuBackendLike, x: TensorInfo, dy: TensorInfo): TensorInfo {
  return elementwise(backend, 'gelu_bwd', HELPERS, `let v = X[index];
      let s = geluSigmoid(v);
      let du = 2.0 * GELU_C * (1.0 + 3.0 * GELU_A * v * v);
      setOutputAtIndex(index, DY[index] * (s + v * s * (1.0 - s) * du));`, [x, dy]);
}

// The exact (erf) GELU of the fixed-rank and InRank MLPs (the reference's activation there).
// WGSL has no erf: Abramowitz and Stegun 7.1.26 (absolute error under 1.5e-7), the same fit
// tfjs's generic Erf kernel uses, so the two paths differ by rounding only.
const ERF_HELPERS = `
  fn erfAS(z : f32) -> f32 {
    let a = abs(z);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(z) * (1.0 - poly * exp(-a * a));
  }
  fn normalCdf(v : f32) -> f32 { return 0.5 * (1.0 + erfAS(v * 0.7071067811865476)); }`;

export function geluExactForward(backend: WebgpuBackendLike, x: TensorInfo): TensorInfo {
  return elementwise(backend, 'gelu_erf_fwd', ERF_HELPERS, 'let v = X[index]; setOutputAtIndex(index, v * normalCdf(v));', [x]);
}

export function geluExactBackward(backend: WebgpuBackendLike, x: TensorInfo, dy: TensorInfo): TensorInfo {
  return elementwise(backend, 'gelu_erf_bwd', ERF_HELPERS, `let v = X[index];
      let pdf = exp(-0.5 * v * v) * 0.3989422804014327;
      setOutputAtIndex(index, DY[index] * (normalCdf(v) + v * pdf));`, [x, dy]);
}
