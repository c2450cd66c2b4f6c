// Softmax cross-entropy in WGSL: forward in 2 dispatches (the softmax, one workgroup per row; the
// mean loss, one workgroup over all rows), backward in 1 (softmax minus one-hot, scaled); the
// generic ops/cross-entropy.ts takes a softmax, a gather over the flattened probabilities, a
// one-hot tensor and 8 more kernels. Rows are long (the vocabulary, 50,257 for GPT-2), so each
// row's invocations share it and reduce across the workgroup (row-program.ts).
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, run, type WebgpuBackendLike } from './program.ts';
import { rowProgram, rowWidth } from './row-program.ts';

type Backend = WebgpuBackendLike & { disposeData(id: object): void };

/** The row's max and exp-sum in one read (online softmax), then p = exp(x - max) / sum written by all. */
const SOFTMAX_BODY = `
  let live = group < uniforms.rows;
  let base = group * uniforms.cols;
  let end = select(0, uniforms.cols, live);
  var part = vec2<f32>(LOWEST, 0.0);
  for (var j = tid; j < end; j += W) { part = pushStat(part, X[base + j]); }
  let stats = statsAcross(part, tid);
  for (var j = tid; j < end; j += W) { setOutputAtIndex(base + j, exp(X[base + j] - stats.x) / stats.y); }`;

/** Each invocation sums a stride of the rows' losses, then the workgroup adds them up. */
const LOSS_BODY = `
  var acc = 0.0;
  for (var r = tid; r < uniforms.rows; r += W) {
    let p = P[r * uniforms.cols + T[r]];
    // max() may drop a NaN; the loss scaler needs it to surface (a NaN row means overflow).
    acc -= log(select(max(p, uniforms.floor), p, isNanF(p)));
  }
  let total = sumAcross(acc, tid);
  if (tid == 0) { setOutputAtIndex(0, total / f32(uniforms.rows)); }`;

export function softmaxXentForward(backend: Backend, logits: TensorInfo, targets: TensorInfo, floor: number): TensorInfo[] {
  const [n, v] = logits.shape as [number, number];
  const dims = [{ type: 'int32' as const, data: [n] }, { type: 'int32' as const, data: [v] }];
  const p = run(backend, rowProgram({
    key: 'xent_softmax', inputs: ['X'], outputShape: [n, v], groups: n, width: rowWidth(v),
    uniforms: 'rows : i32, cols : i32,', body: SOFTMAX_BODY,
  }), [logits], dims);
  const loss = run(backend, rowProgram({
    key: 'xent_loss', inputs: ['P', 'T'], outputShape: [1], groups: 1, width: 256,
    uniforms: 'rows : i32, cols : i32, floor : f32,', body: LOSS_BODY,
  }), [p, targets], [...dims, { type: 'float32', data: [floor] }], [1]);
  return [p, { ...loss, shape: [] }];
}

export function softmaxXentBackward(backend: Backend, p: TensorInfo, targets: TensorInfo, scale: number): TensorInfo {
  const [, v] = p.shape as [number, number];
  return run(backend, flatProgram({
    key: 'xent_bwd', inputs: ['P', 'T'], outputShape: p.shape, uniforms: 'cols : i32, scale : f32,',
    body: `let r = index / uniforms.cols;
      let hit = select(0.0, 1.0, index % uniforms.cols == T[r]);
      setOutputAtIndex(index, (P[index] - hit) * uniforms.scale);`,
  }), [p, targets], [{ type: 'int32', data: [v] }, { type: 'float32', data: [scale] }], [1]);
}
