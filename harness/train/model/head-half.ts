// The tied LM head on the fp16 'native' path (precision/half-storage.ts): ln_f's output and the
// half copy of wte are packed halves, kept packed for backward (wte's copy is the largest
// weight); the logits and the two backward products are f16 matmuls. The rounding points are
// ForwardTape.head's under the emulation: logits = half(x_h wte_h^T), dwte = half(dl_h^T x_h),
// dx = half(dl_h wte_h).
import * as tf from '@tensorflow/tfjs-core';
import type { HalfOps } from '../precision/half-storage.ts';
import { crossEntropy } from '../ops/cross-entropy.ts';
import { addGrad } from '../ops/grads.ts';

export function headForwardHalf(ops: HalfOps, lnf: { y: tf.Tensor2D; backward: (d: tf.Tensor2D) => tf.Tensor2D }, wte: tf.Tensor2D,
  targets: Int32Array, grads: Map<string, tf.Tensor>): { loss: tf.Scalar; backward: (gradScale: number) => tf.Tensor2D } {
  const xf = ops.pack(lnf.y);
  const wteH = ops.pack(wte);
  lnf.y.dispose(); // ln_f's backward does not read its output; the packed copy is what is kept
  const ce = crossEntropy(ops.matMul(xf, wteH, { transB: true }), targets);
  const backward = (gradScale: number) => {
    const dl = ops.pack(ce.backward(gradScale));
    addGrad(grads, 'wte', ops.matMul(dl, xf, { transA: true }));
    const dx = ops.matMul(dl, wteH);
    tf.dispose([dl.words, xf.words, wteH.words]);
    return lnf.backward(dx);
  };
  return { loss: ce.loss, backward };
}
