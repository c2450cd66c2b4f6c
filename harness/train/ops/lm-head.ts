// The tied LM head and the mean token cross-entropy in one fused op (ops/fused.ts LmHeadKernel,
// WGSL on webgpu): loss = mean_i -log(max(softmax(x wte^T)_i,t_i, floor)), as crossEntropy on
// the materialised logits gives, but the [N, V] logits and probabilities are never written: the
// forward keeps each row's logit max and exp-sum, and backward recomputes dlogits from them tile
// by tile. fp32 here; the fp16 native head (model/head-half.ts) takes the kernels' half variant.
//
// Opt-in (INRANK_LM_HEAD=fused; default materialised): the backward recomputes the logits in both
// of its dispatches, so the head costs 5 N V C multiply-adds instead of 3, in kernels not yet tuned
// for a GPU, against tfjs's packed matmul on the materialised path. It pays where the [N, V]
// tensors do not fit; whether it is also faster needs a GPU to measure (npm run bench -- --backend
// webgpu --model gpt2, once with INRANK_LM_HEAD=fused).
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../contract/errors.ts';
import type { Precision } from '../model/linear.ts';
import { fp32 } from '../precision/index.ts';
import { PROB_FLOOR } from './cross-entropy.ts';
import { hasFused, LmHeadKernel, runFused, type LmHeadKernelName } from './fused.ts';

/** Whether INRANK_LM_HEAD asks for the fused head ('fused') or not ('materialised', the default). */
export function fusedLmHeadChosen(): boolean {
  const v = process.env.INRANK_LM_HEAD ?? 'materialised';
  if (v !== 'fused' && v !== 'materialised') throw new UserError(`INRANK_LM_HEAD must be fused or materialised, not '${v}'`);
  return v === 'fused';
}

export function lmHeadUsable(precision: Precision): boolean {
  return precision === fp32 && fusedLmHeadChosen() && hasFused(LmHeadKernel.forward) && hasFused(LmHeadKernel.backward);
}

type Names = { forward: string; backward: string };

/** The fused head on x and wte as given: float32 (fp32 names) or packed halves (the half names, attrs embd). */
export function runLmHead(names: Names, x: tf.Tensor2D, wte: tf.Tensor2D, targets: Int32Array, attrs: Record<string, number> = {}):
  { loss: tf.Scalar; backward(gradScale: number): { dx: tf.Tensor2D; dwte: tf.Tensor2D } } {
  const ids = tf.tensor1d(targets, 'int32');
  const [stats, loss] = runFused(names.forward as LmHeadKernelName, { x, wte, targets: ids }, { ...attrs, floor: PROB_FLOOR });
  return {
    loss: loss as tf.Scalar,
    backward(gradScale: number) {
      const [dx, dwte] = runFused(names.backward as LmHeadKernelName, { x, wte, targets: ids, stats: stats! }, { ...attrs, scale: gradScale / x.shape[0] });
      return { dx: dx as tf.Tensor2D, dwte: dwte as tf.Tensor2D };
    },
  };
}

/** x [N, C] and the tied wte [V, C]; backward(gradScale) gives dx and dwte of loss times gradScale. */
export function lmHeadCrossEntropy(x: tf.Tensor2D, wte: tf.Tensor2D, targets: Int32Array):
  { loss: tf.Scalar; backward(gradScale: number): { dx: tf.Tensor2D; dwte: tf.Tensor2D } } {
  return runLmHead(LmHeadKernel, x, wte, targets);
}
