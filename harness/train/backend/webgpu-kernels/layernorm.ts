// LayerNorm over the last axis in WGSL: forward in 2 dispatches (row statistics, then the
// normalized output), backward in 3 (dx with its row sums, dweight, dbias); the generic
// ops/layernorm.ts takes about 8 and 14 kernels. Row statistics are one [2, rows] tensor: means,
// then 1 / std. The row reductions run one workgroup per row (row-program.ts); the column sums
// of the weight gradients are in layernorm-columns.ts.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, run, type WebgpuBackendLike } from './program.ts';
import { rowProgram, rowWidth } from './row-program.ts';
import { biasGradient, columnSum } from './layernorm-columns.ts';

type Backend = WebgpuBackendLike & { disposeData(id: object): void };

const SHAPE_UNIFORMS = 'rows : i32, cols : i32,';

function dims(x: TensorInfo): { rows: number; cols: number } {
  if (x.shape.length !== 2) throw new Error(`fused LayerNorm: 2-D input expected (got [${x.shape.join(', ')}])`);
  return { rows: x.shape[0]!, cols: x.shape[1]! };
}

/** Mean, then the variance about it (two reads of a short row: no cancellation of E[x^2] - mean^2). */
const STATS_BODY = `
  let base = group * uniforms.cols;
  let end = select(0, uniforms.cols, group < uniforms.rows);
  var part = 0.0;
  for (var j = tid; j < end; j += W) { part += X[base + j]; }
  let mu = sumAcross(part, tid) / f32(uniforms.cols);
  var sq = 0.0;
  for (var j = tid; j < end; j += W) { let d = X[base + j] - mu; sq += d * d; }
  let rstd = inverseSqrt(sumAcross(sq, tid) / f32(uniforms.cols) + uniforms.eps);
  if (tid == 0 && group < uniforms.rows) {
    setOutputAtIndex(group, mu);
    setOutputAtIndex(uniforms.rows + group, rstd);
  }`;

export function layerNormForward(backend: Backend, x: TensorInfo, weight: TensorInfo, bias: TensorInfo, eps: number): TensorInfo[] {
  const { rows, cols } = dims(x);
  const shape = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [cols] }];
  const stats = run(backend, rowProgram({
    key: 'ln_stats', inputs: ['X'], outputShape: [2, rows], groups: rows, width: rowWidth(cols),
    uniforms: `${SHAPE_UNIFORMS} eps : f32,`, body: STATS_BODY,
  }), [x], [...shape, { type: 'float32', data: [eps] }]);
  const y = run(backend, flatProgram({
    key: 'ln_apply', inputs: ['X', 'W', 'B', 'S'], outputShape: [rows, cols], uniforms: SHAPE_UNIFORMS,
    body: `let r = index / uniforms.cols;
      let j = index % uniforms.cols;
      setOutputAtIndex(index, (X[index] - S[r]) * S[uniforms.rows + r] * W[j] + B[j]);`,
  }), [x, weight, bias, stats], shape);
  return [y, stats];
}

/** dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = dy w: both means reduced across the workgroup, then dx written by all. */
const DX_BODY = `
  // A workgroup past the last row (a folded grid) reads row 0's statistics and writes nothing.
  let r = select(0, group, group < uniforms.rows);
  let base = r * uniforms.cols;
  let end = select(0, uniforms.cols, group < uniforms.rows);
  let mu = S[r];
  let rstd = S[uniforms.rows + r];
  var p1 = 0.0;
  var p2 = 0.0;
  for (var j = tid; j < end; j += W) {
    let dxhat = DY[base + j] * W_[j];
    p1 += dxhat;
    p2 += dxhat * (X[base + j] - mu) * rstd;
  }
  let m1 = sumAcross(p1, tid) / f32(uniforms.cols);
  let m2 = sumAcross(p2, tid) / f32(uniforms.cols);
  for (var j = tid; j < end; j += W) {
    let xhat = (X[base + j] - mu) * rstd;
    setOutputAtIndex(base + j, (DY[base + j] * W_[j] - m1 - xhat * m2) * rstd);
  }`;

/** dx (one workgroup per row); dw = sum_rows dy xhat and db = sum_rows dy (layernorm-columns.ts). */
export function layerNormBackward(backend: Backend, dy: TensorInfo, x: TensorInfo, weight: TensorInfo, stats: TensorInfo): TensorInfo[] {
  const { rows, cols } = dims(x);
  const shape = [{ type: 'int32' as const, data: [rows] }, { type: 'int32' as const, data: [cols] }];
  const dx = run(backend, rowProgram({
    key: 'ln_bwd_dx', inputs: ['DY', 'X', 'W_', 'S'], outputShape: [rows, cols], groups: rows, width: rowWidth(cols),
    uniforms: SHAPE_UNIFORMS, body: DX_BODY,
  }), [dy, x, weight, stats], shape);
  const dw = columnSum(backend, 'ln_bwd_dw', 'DY[i] * (X[i] - S[r]) * S[uniforms.rows + r]', ['DY', 'X', 'S'], [dy, x, stats], rows, cols);
  const db = biasGradient(backend, dy);
  return [dx, dw, db];
}
