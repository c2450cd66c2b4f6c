// The attention's causal softmax and its gradient in WGSL, one dispatch each (the generic path
// adds a [T, T] bias tensor, runs a softmax, and takes 5 kernels for the gradient). Row r of
// the [rows, T] scores is query position r % T; later keys get probability 0.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, run, type WebgpuBackendLike } from './program.ts';

/** One invocation per element; each walks its row (T, the context, is short next to the row count). */
export function causalSoftmax(backend: WebgpuBackendLike, x: TensorInfo): TensorInfo {
  const t = x.shape[x.shape.length - 1]!;
  return run(backend, flatProgram({
    key: 'causal_softmax', inputs: ['X'], outputShape: x.shape, uniforms: 't : i32,',
    body: `let r = index / uniforms.t;
      let j = index % uniforms.t;
      let valid = r % uniforms.t + 1;
      if (j >= valid) {
        setOutputAtIndex(index, 0.0);
      } else {
        let base = r * uniforms.t;
        var mx = X[base];
        for (var c = 1; c < valid; c++) { mx = max(mx, X[base + c]); }
        var sum = 0.0;
        for (var c = 0; c < valid; c++) { sum += exp(X[base + c] - mx); }
        setOutputAtIndex(index, exp(X[index] - mx) / sum);
      }`,
  }), [x], [{ type: 'int32', data: [t] }]);
}

/** ds = p (dp - sum_row(dp p)) scale. */
export function softmaxGrad(backend: WebgpuBackendLike, p: TensorInfo, dp: TensorInfo, scale: number): TensorInfo {
  const cols = p.shape[p.shape.length - 1]!;
  return run(backend, flatProgram({
    key: 'softmax_grad', inputs: ['P', 'DP'], outputShape: p.shape, uniforms: 'cols : i32, scale : f32,',
    body: `let base = (index / uniforms.cols) * uniforms.cols;
      var dot = 0.0;
      for (var c = 0; c < uniforms.cols; c++) { dot += P[base + c] * DP[base + c]; }
      setOutputAtIndex(index, P[index] * (DP[index] - dot) * uniforms.scale);`,
  }), [p, dp], [{ type: 'int32', data: [cols] }, { type: 'float32', data: [scale] }]);
}
