// The low-rank layer through its fused kernels (FusedKernel.lowRank / lowRankGrad, registered
// for webgpu by backend/webgpu-kernels), taken when only part of the factors is active (k < r,
// stage 1 with a buffer): the kernels read A[:k] and B[:, :k] in place and write the factors'
// gradients in their full layouts, where the generic path copies the active blocks out and pads
// the gradients with concats. With every mode active (stage 2) there is nothing to cut and the
// generic path's tf.fused.matMul (tfjs-backend-webgpu's tiled matmul with a bias epilogue)
// stays. fp16 runs keep the generic path: it rounds each intermediate to half.
import * as tf from '@tensorflow/tfjs-core';
import type { LinearForward, Precision } from '../model/linear.ts';
import { FusedKernel, hasFused, runFused } from '../ops/fused.ts';
import { fp32 } from '../precision/index.ts';

export interface LowRankFactors {
  x: tf.Tensor2D;
  A: tf.Tensor2D;
  B: tf.Tensor2D;
  bias: tf.Tensor1D;
  /** Active modes. */
  k: number;
}

/** Whether the layer's forward at k of r modes takes the fused kernels. */
export function lowRankFusedApplies(k: number, r: number, precision: Precision): boolean {
  return k < r && precision === fp32 && hasFused(FusedKernel.lowRank) && hasFused(FusedKernel.lowRankGrad);
}

/** Forward through the fused kernel; backward hands the full-layout gradients to addGrad. */
export function lowRankFusedForward(f: LowRankFactors, addGrad: (grads: Map<string, tf.Tensor>, name: string, g: tf.Tensor) => void): LinearForward {
  const [y, h] = runFused(FusedKernel.lowRank, { x: f.x, a: f.A, b: f.B, bias: f.bias }, { k: f.k }) as [tf.Tensor2D, tf.Tensor2D];
  let live = true;
  const release = (): void => {
    if (live) h.dispose();
    live = false;
  };
  return {
    y,
    backward: (dy, grads) => {
      if (!live) throw new Error('LowRankLinear: backward after dispose (or twice) for one forward');
      // The factors still hold the forward's values: no optimizer step runs in between.
      const [dx, dA, dB, dBias] = runFused(FusedKernel.lowRankGrad, { dy, x: f.x, h, a: f.A, b: f.B }, { k: f.k });
      release();
      addGrad(grads, 'A', dA!);
      addGrad(grads, 'B', dB!);
      addGrad(grads, 'bias', dBias!);
      return dx as tf.Tensor2D;
    },
    dispose: release,
  };
}
