// The precision modes: fp32 (native) and fp16 (EMULATED: values are rounded to IEEE half where
// mixed-precision training keeps half tensors; arithmetic itself stays float32).
import * as tf from '@tensorflow/tfjs-core';
import type { Precision } from '../model/linear.ts';
import { roundHalfArray } from './half.ts';

export const fp32: Precision = { half: <T extends tf.Tensor>(x: T): T => x };

/** fp16 emulation: reads the tensor, rounds on the host, and writes a new tensor. */
export const fp16Emulated: Precision = {
  half<T extends tf.Tensor>(x: T): T {
    const data = x.dataSync() as Float32Array;
    const copy = new Float32Array(data); // dataSync may alias backend memory on some backends
    roundHalfArray(copy);
    return tf.tensor(copy, x.shape, 'float32') as T;
  },
};

export function precisionOf(kind: 'fp32' | 'fp16'): Precision {
  return kind === 'fp16' ? fp16Emulated : fp32;
}
