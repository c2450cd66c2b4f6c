// The attention's causal softmax and its gradient in WGSL, one dispatch each (the generic path
// adds a [T, T] bias tensor, runs a softmax, and takes 5 kernels for the gradient). Row r of
// the [rows, T] scores is query position r % T; later keys get probability 0. One workgroup per
// row (row-program.ts): its invocations stride over the row's keys and reduce across the
// workgroup, instead of each output walking its whole row again.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { rowProgram, rowWidth } from './row-program.ts';
import { run, type WebgpuBackendLike } from './program.ts';

/** The valid keys' max and exp-sum in one read (online softmax); every key of the row is written. */
const CAUSAL_BODY = `
  let live = group < uniforms.rows;
  let base = group * uniforms.t;
  let end = select(0, uniforms.t, live);
  let valid = group % uniforms.t + 1;
  var part = vec2<f32>(LOWEST, 0.0);
  for (var j = tid; j < min(valid, end); j += W) { part = pushStat(part, X[base + j]); }
  let stats = statsAcross(part, tid);
  for (var j = tid; j < end; j += W) {
    setOutputAtIndex(base + j, select(0.0, exp(X[base + j] - stats.x) / stats.y, j < valid));
  }`;

export function causalSoftmax(backend: WebgpuBackendLike, x: TensorInfo): TensorInfo {
  const t = x.shape[x.shape.length - 1]!;
  const rows = x.shape.reduce((a, b) => a * b, 1) / t;
  return run(backend, rowProgram({
    key: 'causal_softmax', inputs: ['X'], outputShape: x.shape, groups: rows, width: rowWidth(t),
    uniforms: 'rows : i32, t : i32,', body: CAUSAL_BODY,
  }), [x], [{ type: 'int32', data: [rows] }, { type: 'int32', data: [t] }]);
}

/** ds = p (dp - sum_row(dp p)) scale: the row's dot product reduced across the workgroup, then written by all. */
const GRAD_BODY = `
  let base = group * uniforms.cols;
  let end = select(0, uniforms.cols, group < uniforms.rows);
  var part = 0.0;
  for (var j = tid; j < end; j += W) { part += P[base + j] * DP[base + j]; }
  let dot = sumAcross(part, tid);
  for (var j = tid; j < end; j += W) {
    setOutputAtIndex(base + j, P[base + j] * (DP[base + j] - dot) * uniforms.scale);
  }`;

export function softmaxGrad(backend: WebgpuBackendLike, p: TensorInfo, dp: TensorInfo, scale: number): TensorInfo {
  const cols = p.shape[p.shape.length - 1]!;
  const rows = p.shape.reduce((a, b) => a * b, 1) / cols;
  return run(backend, rowProgram({
    key: 'softmax_grad', inputs: ['P', 'DP'], outputShape: p.shape, groups: rows, width: rowWidth(cols),
    uniforms: 'rows : i32, cols : i32, scale : f32,', body: GRAD_BODY,
  }), [p, dp], [{ type: 'int32', data: [rows] }, { type: 'int32', data: [cols] }, { type: 'float32', data: [scale] }]);
}
