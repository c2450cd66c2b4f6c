// Column sums over all rows (LayerNorm's weight and bias gradients, the low-rank layer's bias
// gradient: [rows, cols] -> [cols]) in one
// dispatch: a workgroup of 256 owns 8 adjacent columns, its 32 lanes per column stride over the
// rows (each row's 8 columns are one 32-byte read), and a tree over the lanes adds them up.
// One invocation per column looping over all rows (8,192 for GPT-2 at batch 8) used a few hundred
// threads of a GPU; a two-level reduction would need a second dispatch for each output.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { run, type WebgpuBackendLike } from './program.ts';
import { rowProgram } from './row-program.ts';

const COLS_PER_GROUP = 8;
const WIDTH = 256;

/** The lanes' sums of each column: the tree stops at the 8 columns (tid = lane * 8 + column). */
const HELPERS = `
  const COLS_PER_GROUP : i32 = ${COLS_PER_GROUP};
  fn columnTotal(v : f32, tid : i32) -> f32 {
    redA[tid] = v;
    for (var s = W / 2; s >= COLS_PER_GROUP; s = s / 2) {
      workgroupBarrier();
      if (tid < s) { redA[tid] = redA[tid] + redA[tid + s]; }
    }
    workgroupBarrier();
    let total = redA[tid % COLS_PER_GROUP];
    workgroupBarrier();
    return total;
  }`;

/** sum over r of `term` (a WGSL expression of i = r * cols + c, r and the inputs) for each column c. */
export function columnSum(backend: WebgpuBackendLike, key: string, term: string, inputs: string[], tensors: TensorInfo[],
  rows: number, cols: number): TensorInfo {
  const body = `
    let c = group * COLS_PER_GROUP + tid % COLS_PER_GROUP;
    let lane = tid / COLS_PER_GROUP;
    let end = select(0, uniforms.rows, c < uniforms.cols);
    var acc = 0.0;
    for (var r = lane; r < end; r += W / COLS_PER_GROUP) { let i = r * uniforms.cols + c; acc += ${term}; }
    let total = columnTotal(acc, tid);
    if (lane == 0 && c < uniforms.cols) { setOutputAtIndex(c, total); }`;
  return run(backend, rowProgram({
    key, inputs, outputShape: [cols], groups: Math.ceil(cols / COLS_PER_GROUP), width: WIDTH,
    uniforms: 'rows : i32, cols : i32,', helpers: HELPERS, body,
  }), tensors, [{ type: 'int32', data: [rows] }, { type: 'int32', data: [cols] }]);
}

/** A linear layer's bias gradient: dy [rows, cols] summed over its rows. */
export function biasGradient(backend: WebgpuBackendLike, dy: TensorInfo): TensorInfo {
  const [rows, cols] = dy.shape as [number, number];
  return columnSum(backend, 'bias_grad', 'DY[i]', ['DY'], [dy], rows, cols);
}
