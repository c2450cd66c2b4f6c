// The dense layer's forward and backward on the fp16 'native' path (precision/half-storage.ts):
// the input and the weight's half copy are packed halves, saved packed for backward, and every
// product is the f16 matmul. The rounding points are DenseLinear.forward's under the emulation:
// y = half(x_h W_h + b), dW = half(x_h^T dy_h), db = colSum(dy_h), dx = half(dy_h W_h^T).
import * as tf from '@tensorflow/tfjs-core';
import type { HalfOps } from '../precision/half-storage.ts';
import type { LinearForward } from './linear.ts';
import { colSum } from '../ops/matmul.ts';
import { addGrad } from '../ops/grads.ts';

export function denseForwardHalf(ops: HalfOps, x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D): LinearForward {
  const xh = ops.pack(x);
  const wh = ops.pack(weight);
  const y = ops.matMul(xh, wh, { bias });
  const release = () => tf.dispose([xh.words, wh.words]);
  return {
    y,
    backward: (dy, grads) => {
      const g = ops.pack(dy);
      addGrad(grads, 'weight', ops.matMul(xh, g, { transA: true }));
      addGrad(grads, 'bias', tf.tidy(() => colSum(ops.unpack(g))));
      const dx = ops.matMul(g, wh, { transB: true });
      g.words.dispose();
      release();
      return dx;
    },
    dispose: release,
    inputNotKept: true,
  };
}
