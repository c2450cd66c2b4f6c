// The tied LM head on the fp16 'native' path (precision/half-storage.ts): ln_f's output and the
// half copy of wte are packed halves, kept packed for backward (wte's copy is the largest
// weight); the logits and the two backward products are f16 matmuls. The rounding points are
// ForwardTape.head's under the emulation: logits = half(x_h wte_h^T), dwte = half(dl_h^T x_h),
// dx = half(dl_h wte_h). Where the fused LM head kernels are registered (ops/fused.ts
// LmHeadKernel, webgpu) their half variant keeps those rounding points without the [N, V]
// logits and probabilities in memory.
import * as tf from '@tensorflow/tfjs-core';
import type { HalfMatrix, HalfOps } from '../precision/half-storage.ts';
import { crossEntropy } from '../ops/cross-entropy.ts';
import { addGrad } from '../ops/grads.ts';
import { hasFused, LmHeadKernel } from '../ops/fused.ts';
import { fusedLmHeadChosen, runLmHead } from '../ops/lm-head.ts';

type Lnf = { y: tf.Tensor2D; backward: (d: tf.Tensor2D) => tf.Tensor2D };

export function headForwardHalf(ops: HalfOps, lnf: Lnf, wte: tf.Tensor2D,
  targets: Int32Array, grads: Map<string, tf.Tensor>): { loss: tf.Scalar; backward: (gradScale: number) => tf.Tensor2D } {
  const xf = ops.pack(lnf.y);
  const wteH = ops.pack(wte);
  lnf.y.dispose(); // ln_f's backward does not read its output; the packed copy is what is kept
  if (fusedLmHeadChosen() && hasFused(LmHeadKernel.forwardHalf) && hasFused(LmHeadKernel.backwardHalf)) return fusedHeadHalf(lnf, xf, wteH, targets, grads);
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

/** The same head on the fused kernels' half variant: the packed x and wte and each row's max and sum are what backward keeps. */
function fusedHeadHalf(lnf: Lnf, xf: HalfMatrix, wteH: HalfMatrix, targets: Int32Array, grads: Map<string, tf.Tensor>):
  { loss: tf.Scalar; backward: (gradScale: number) => tf.Tensor2D } {
  const names = { forward: LmHeadKernel.forwardHalf, backward: LmHeadKernel.backwardHalf };
  const f = runLmHead(names, xf.words, wteH.words, targets, { embd: xf.shape[1] });
  const backward = (gradScale: number) => {
    const d = f.backward(gradScale);
    addGrad(grads, 'wte', d.dwte);
    tf.dispose([xf.words, wteH.words]);
    return lnf.backward(d.dx);
  };
  return { loss: f.loss, backward };
}
