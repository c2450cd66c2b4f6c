// The AdamW update of one parameter in 3 WGSL dispatches (new m, new v, new parameter) instead
// of about 12 generic kernels; the arithmetic is harness/train/optim/adamw.ts's.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, run, type Uniform, type WebgpuBackendLike } from './program.ts';
import type { AdamWScalars } from '../adamw-scalars.ts';

const f32 = (...data: number[]): Uniform => ({ type: 'float32', data });

export function adamWUpdate(backend: WebgpuBackendLike, param: TensorInfo, grad: TensorInfo, m: TensorInfo,
  v: TensorInfo, k: AdamWScalars): TensorInfo[] {
  const shape = param.shape;
  const moment = (key: string, body: string, old: TensorInfo, beta: number) => run(backend, flatProgram({
    key, inputs: ['OLD', 'G'], outputShape: shape, uniforms: 'beta : f32, gm : f32,', body,
  }), [old, grad], [f32(beta), f32(k.gradMultiplier)]);
  const m1 = moment('adamw_m', 'let g = G[index] * uniforms.gm; setOutputAtIndex(index, OLD[index] * uniforms.beta + g * (1.0 - uniforms.beta));', m, k.beta1);
  const v1 = moment('adamw_v', 'let g = G[index] * uniforms.gm; setOutputAtIndex(index, OLD[index] * uniforms.beta + g * g * (1.0 - uniforms.beta));', v, k.beta2);
  const p1 = run(backend, flatProgram({
    key: 'adamw_p', inputs: ['P', 'M', 'V'], outputShape: shape,
    uniforms: 'decay : f32, bc2Sqrt : f32, eps : f32, step : f32,',
    body: `let denom = sqrt(V[index]) / uniforms.bc2Sqrt + uniforms.eps;
      setOutputAtIndex(index, P[index] * uniforms.decay - (M[index] / denom) * uniforms.step);`,
  }), [param, m1, v1], [f32(k.decay), f32(k.bc2Sqrt), f32(k.eps), f32(k.lr / k.bc1)]);
  return [p1, m1, v1];
}
