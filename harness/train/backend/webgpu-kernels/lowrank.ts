// The low-rank layer on its active block (k of the factors' r modes) in WGSL: forward y = (x
// A[:k]^T) B[:, :k]^T + bias in 2 dispatches, backward (dx and the full-layout gradients of A, B
// and the bias) in 5, with the factors read in place and the gradients written straight into
// their parameters' [r, in] / [out, r] layouts. The generic path (inrank/lowrank-linear.ts)
// takes 2 slice copies in the forward and 2 concats with zeros uploaded from the host in the
// backward on top of the same products, and its bias gradient multiplies by an uploaded ones row
// (here the column sum LayerNorm's bias gradient uses).
// The hidden h = x A[:k]^T is written once: U's gradient needs it in the backward.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { matMulStrided } from './matmul-strided.ts';
import type { WebgpuBackendLike } from './program.ts';
import { biasGradient } from './layernorm-columns.ts';

const dims2 = (t: TensorInfo): [number, number] => [t.shape[0]!, t.shape[1]!];

/** (x [N, in], A [r, in], B [out, r], bias [out]; k) -> (y [N, out], h [N, k]). */
export function lowRankForward(backend: WebgpuBackendLike, x: TensorInfo, a: TensorInfo, b: TensorInfo, bias: TensorInfo, k: number): TensorInfo[] {
  const [tokens, inF] = dims2(x);
  const outF = b.shape[0]!;
  const h = matMulStrided(backend, x, a, { transA: false, transB: true, m: tokens, n: k, k: inF });
  const y = matMulStrided(backend, h, b, { transA: false, transB: true, m: tokens, n: outF, k }, bias);
  return [y, h];
}

/**
 * (dy [N, out], x [N, in], h [N, k], A [r, in], B [out, r]; k) -> (dx [N, in], dA [r, in],
 * dB [out, r], dbias [out]), the gradients' modes past k zero.
 */
export function lowRankBackward(backend: WebgpuBackendLike & { disposeData(id: object): void },
  dy: TensorInfo, x: TensorInfo, h: TensorInfo, a: TensorInfo, b: TensorInfo, k: number): TensorInfo[] {
  const [tokens, inF] = dims2(x);
  const [outF, r] = dims2(b);
  const dB = matMulStrided(backend, dy, h, { transA: true, transB: false, m: outF, n: k, k: tokens, outShape: [outF, r] });
  const dh = matMulStrided(backend, dy, b, { transA: false, transB: false, m: tokens, n: k, k: outF });
  const dA = matMulStrided(backend, dh, x, { transA: true, transB: false, m: k, n: inF, k: tokens, outShape: [r, inF] });
  const dx = matMulStrided(backend, dh, a, { transA: false, transB: false, m: tokens, n: inF, k });
  backend.disposeData(dh.dataId);
  return [dx, dA, dB, biasGradient(backend, dy)];
}
