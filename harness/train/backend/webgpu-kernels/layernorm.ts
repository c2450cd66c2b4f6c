// LayerNorm over the last axis in WGSL: forward in 2 dispatches (row statistics, then the
// normalized output), backward in 4 (row sums, dx, dweight, dbias); the generic ops/layernorm.ts
// takes about 8 and 14 kernels. Row statistics are one [2, rows] tensor: means, then 1 / std.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, run, type WebgpuBackendLike } from './program.ts';

const SHAPE_UNIFORMS = 'rows : i32, cols : i32,';

function dims(x: TensorInfo): { rows: number; cols: number } {
  if (x.shape.length !== 2) throw new Error(`fused LayerNorm: 2-D input expected (got [${x.shape.join(', ')}])`);
  return { rows: x.shape[0]!, cols: x.shape[1]! };
}

export function layerNormForward(backend: WebgpuBackendLike & { disposeData(id: object): void },
  x: TensorInfo, weight: TensorInfo, bias: TensorInfo, eps: number): TensorInfo[] {
  const { rows, cols } = dims(x);
  const shape = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [cols] }];
  // One invocation per (statistic, row); each walks its row (rows are short: the model width).
  const stats = run(backend, flatProgram({
    key: 'ln_stats', inputs: ['X'], outputShape: [2, rows], uniforms: `${SHAPE_UNIFORMS} eps : f32,`,
    body: `let r = index % uniforms.rows;
      let base = r * uniforms.cols;
      var sum = 0.0;
      for (var j = 0; j < uniforms.cols; j++) { sum += X[base + j]; }
      let mu = sum / f32(uniforms.cols);
      if (index < uniforms.rows) {
        setOutputAtIndex(index, mu);
      } else {
        var sq = 0.0;
        for (var j = 0; j < uniforms.cols; j++) { let d = X[base + j] - mu; sq += d * d; }
        setOutputAtIndex(index, inverseSqrt(sq / f32(uniforms.cols) + uniforms.eps));
      }`,
  }), [x], [...shape, { type: 'float32', data: [eps] }]);
  const y = run(backend, flatProgram({
    key: 'ln_apply', inputs: ['X', 'W', 'B', 'S'], outputShape: [rows, cols], uniforms: SHAPE_UNIFORMS,
    body: `let r = index / uniforms.cols;
      let j = index % uniforms.cols;
      setOutputAtIndex(index, (X[index] - S[r]) * S[uniforms.rows + r] * W[j] + B[j]);`,
  }), [x, weight, bias, stats], shape);
  return [y, stats];
}

/** dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = dy w; dw = sum_rows dy xhat; db = sum_rows dy. */
export function layerNormBackward(backend: WebgpuBackendLike & { disposeData(id: object): void },
  dy: TensorInfo, x: TensorInfo, weight: TensorInfo, stats: TensorInfo): TensorInfo[] {
  const { rows, cols } = dims(x);
  const shape = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [cols] }];
  const xhat = '(X[i] - S[r]) * S[uniforms.rows + r]';
  const sums = run(backend, flatProgram({
    key: 'ln_bwd_rows', inputs: ['DY', 'X', 'W', 'S'], outputShape: [2, rows], uniforms: SHAPE_UNIFORMS,
    body: `let r = index % uniforms.rows;
      let second = index >= uniforms.rows;
      var acc = 0.0;
      for (var j = 0; j < uniforms.cols; j++) {
        let i = r * uniforms.cols + j;
        let dxhat = DY[i] * W[j];
        acc += select(dxhat, dxhat * ${xhat}, second);
      }
      setOutputAtIndex(index, acc / f32(uniforms.cols));`,
  }), [dy, x, weight, stats], shape);
  const dx = run(backend, flatProgram({
    key: 'ln_bwd_dx', inputs: ['DY', 'X', 'W', 'S', 'R'], outputShape: [rows, cols], uniforms: SHAPE_UNIFORMS,
    body: `let i = index;
      let r = index / uniforms.cols;
      let j = index % uniforms.cols;
      setOutputAtIndex(index, (DY[i] * W[j] - R[r] - ${xhat} * R[uniforms.rows + r]) * S[uniforms.rows + r]);`,
  }), [dy, x, weight, stats, sums], shape);
  backend.disposeData(sums.dataId);
  const columnSum = (key: string, term: string, inputs: string[], tensors: TensorInfo[]) => run(backend, flatProgram({
    key, inputs, outputShape: [cols], uniforms: SHAPE_UNIFORMS,
    body: `var acc = 0.0;
      for (var r = 0; r < uniforms.rows; r++) { let i = r * uniforms.cols + index; acc += ${term}; }
      setOutputAtIndex(index, acc);`,
  }), tensors, shape);
  const dw = columnSum('ln_bwd_dw', `DY[i] * ${xhat}`, ['DY', 'X', 'S'], [dy, x, stats]);
  const db = columnSum('ln_bwd_db', 'DY[i]', ['DY'], [dy]);
  return [dx, dw, db];
}
