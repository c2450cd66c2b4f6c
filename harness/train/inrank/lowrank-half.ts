// The low-rank layer's products on the fp16 'native' path (precision/half-storage.ts): x, the
// active factor blocks and the hidden activation h = x A_k^T are packed halves, saved packed for
// backward; every product is the f16 matmul. The rounding points are LowRankLinear's under the
// emulation (factorGrads and forward there), so the two paths differ only by summation order.
import * as tf from '@tensorflow/tfjs-core';
import type { HalfMatrix, HalfOps } from '../precision/half-storage.ts';
import type { LinearForward, Precision } from '../model/linear.ts';
import { colSum } from '../ops/matmul.ts';

export interface LowRankFactors {
  A: tf.Variable;
  B: tf.Variable;
  bias: tf.Variable;
  /** Active modes of this forward, and the factors' sizes. */
  k: number;
  r: number;
  n: number;
  m: number;
}

type AddInto = (grads: Map<string, tf.Tensor>, name: string, g: tf.Tensor) => void;
interface Saved { xs: HalfMatrix; a: HalfMatrix; b: HalfMatrix; h: HalfMatrix }

function backwardHalf(ops: HalfOps, f: LowRankFactors, s: Saved, dy: tf.Tensor2D, half: Precision['half']) {
  const { k, r, n, m } = f;
  return tf.tidy(() => {
    const g = ops.pack(dy);
    const dB = ops.matMul(g, s.h, { transA: true }); // out x k
    const dh = ops.matMulHalf(g, s.b); // tokens x k
    const dA = ops.matMul(dh, s.xs, { transA: true }); // k x in
    const dx = ops.matMul(dh, s.a); // tokens x in
    const dBias = half(colSum(ops.unpack(g)));
    const fullA = k < r ? tf.concat([dA, tf.zeros([r - k, n])], 0) : dA;
    const fullB = k < r ? tf.concat([dB, tf.zeros([m, r - k])], 1) : dB;
    return { dx, fullA, fullB, dBias };
  });
}

export function lowRankForwardHalf(f: LowRankFactors, x: tf.Tensor2D, precision: Precision & { halfOps: HalfOps }, addInto: AddInto): LinearForward {
  const { k, r, n, m } = f;
  const ops = precision.halfOps;
  const block = (t: tf.Variable, size: number[]): HalfMatrix => {
    if (k === r) return ops.pack(t as tf.Tensor2D);
    const part = tf.slice(t, [0, 0], size) as tf.Tensor2D;
    const packed = ops.pack(part);
    part.dispose();
    return packed;
  };
  const xs = ops.pack(x);
  const a = block(f.A, [k, n]); // k x in
  const b = block(f.B, [m, k]); // out x k
  const h = ops.matMulHalf(xs, a, { transB: true }); // tokens x k
  const biasH = precision.half(f.bias as tf.Tensor1D);
  const saved: Saved = { xs, a, b, h };
  const y = ops.matMul(h, b, { transB: true, bias: biasH });
  biasH.dispose();
  let live = true;
  const release = (): void => {
    if (!live) return;
    live = false;
    tf.dispose([saved.xs.words, saved.a.words, saved.b.words, saved.h.words]);
  };
  return {
    y,
    backward: (dy, grads) => {
      if (!live) throw new Error('LowRankLinear: backward after dispose (or twice) for one forward');
      const out = backwardHalf(ops, f, saved, dy, precision.half);
      release();
      addInto(grads, 'A', out.fullA);
      addInto(grads, 'B', out.fullB);
      addInto(grads, 'bias', out.dBias);
      return out.dx;
    },
    dispose: release,
    inputNotKept: true,
  };
}
