// The dense linear layer (full-rank baseline, and GPT-2's attention projections).
// The weight is stored [in, out] like HF GPT-2's Conv1D, so y = x W is a plain 2-D product.
import * as tf from '@tensorflow/tfjs-core';
import type { LinearForward, LinearLayer, Param, Precision } from './linear.ts';
import { colSum, mmBias, mmT, mTm } from '../ops/matmul.ts';
import { fillNormal } from '../ops/random.ts';
import { addGrad } from '../ops/grads.ts';
import { denseForwardHalf } from './dense-linear-half.ts';
import { ownedVariable } from './owned-variable.ts';

export interface DenseLinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** Weight init: normal(0, initStd) (HF GPT-2); bias zero. */
  initStd: number;
  /** The stream key of this weight's init (counter-based, see ops/random.ts). */
  initKey: number;
}

export class DenseLinear implements LinearLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(opts: DenseLinearOptions) {
    this.inFeatures = opts.inFeatures;
    this.outFeatures = opts.outFeatures;
    const w = new Float32Array(opts.inFeatures * opts.outFeatures);
    fillNormal(opts.initKey, w, opts.initStd);
    this.weight = ownedVariable(tf.tensor2d(w, [opts.inFeatures, opts.outFeatures]));
    this.bias = ownedVariable(tf.zeros([opts.outFeatures]));
  }

  params(): Param[] {
    return [
      { name: 'weight', variable: this.weight, decay: true },
      { name: 'bias', variable: this.bias, decay: false },
    ];
  }

  forward(x: tf.Tensor2D, _training: boolean, precision: Precision): LinearForward {
    if (precision.halfOps) return denseForwardHalf(precision.halfOps, x, this.weight as tf.Tensor2D, this.bias as tf.Tensor1D);
    const xh = precision.half(x);
    const wh = precision.half(this.weight as tf.Tensor2D);
    const y = precision.half(mmBias(xh, wh as tf.Tensor2D, this.bias as tf.Tensor1D));
    return {
      y,
      backward: (dy, grads) => {
        const dyh = precision.half(dy);
        addGrad(grads, 'weight', precision.half(mTm(xh, dyh)));
        addGrad(grads, 'bias', colSum(dyh));
        return precision.half(mmT(dyh, wh));
      },
      dispose: () => {
        if (xh !== x) xh.dispose();
        if (wh !== (this.weight as tf.Tensor)) wh.dispose();
      },
    };
  }

  effectiveParamCount(): number {
    return this.inFeatures * this.outFeatures + this.outFeatures;
  }

  macsPerToken(): number {
    return this.inFeatures * this.outFeatures;
  }

  rank(): null {
    return null;
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}
