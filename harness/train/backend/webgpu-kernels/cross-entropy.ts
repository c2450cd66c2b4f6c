// Softmax cross-entropy in WGSL: forward in 3 dispatches (row max and exp-sum, softmax, mean
// loss), backward in 1 (softmax minus one-hot, scaled); the generic ops/cross-entropy.ts takes a
// softmax, a gather over the flattened probabilities, a one-hot tensor and 8 more kernels.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, run, type WebgpuBackendLike } from './program.ts';

type Backend = WebgpuBackendLike & { disposeData(id: object): void };

export function softmaxXentForward(backend: Backend, logits: TensorInfo, targets: TensorInfo, floor: number): TensorInfo[] {
  const [n, v] = logits.shape as [number, number];
  const dims = [{ type: 'int32' as const, data: [n] }, { type: 'int32' as const, data: [v] }];
  const stats = run(backend, flatProgram({
    key: 'xent_stats', inputs: ['X'], outputShape: [2, n], uniforms: 'rows : i32, cols : i32,',
    body: `let r = index % uniforms.rows;
      let base = r * uniforms.cols;
      var mx = X[base];
      for (var j = 1; j < uniforms.cols; j++) { mx = max(mx, X[base + j]); }
      if (index < uniforms.rows) {
        setOutputAtIndex(index, mx);
      } else {
        var sum = 0.0;
        for (var j = 0; j < uniforms.cols; j++) { sum += exp(X[base + j] - mx); }
        setOutputAtIndex(index, sum);
      }`,
  }), [logits], dims);
  const p = run(backend, flatProgram({
    key: 'xent_softmax', inputs: ['X', 'S'], outputShape: [n, v], uniforms: 'rows : i32, cols : i32,',
    body: `let r = index / uniforms.cols;
      setOutputAtIndex(index, exp(X[index] - S[r]) / S[uniforms.rows + r]);`,
  }), [logits, stats], dims);
  backend.disposeData(stats.dataId);
  // One invocation sums the rows' losses in order (n is the micro-batch's token count).
  const loss = run(backend, flatProgram({
    key: 'xent_loss', inputs: ['P', 'T'], outputShape: [1], uniforms: 'rows : i32, cols : i32, floor : f32,',
    body: `var acc = 0.0;
      for (var r = 0; r < uniforms.rows; r++) { acc -= log(max(P[r * uniforms.cols + T[r]], uniforms.floor)); }
      setOutputAtIndex(index, acc / f32(uniforms.rows));`,
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
