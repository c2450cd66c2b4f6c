// The precision modes: fp32 (native) and fp16 (EMULATED: values are rounded to IEEE half where
// mixed-precision training keeps half tensors; arithmetic itself stays float32).
import * as tf from '@tensorflow/tfjs-core';
import type { Fp16Path } from '../../contract/protocol.ts';
import { matmulPath } from '../backend/select.ts';
import type { Precision } from '../model/linear.ts';
import { roundHalfArray } from './half.ts';
import { roundHalfOnDevice } from './half-webgpu.ts';

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

/** fp16 emulation on the WebGPU device: the same rounding in a WGSL kernel, no read-back. */
export const fp16EmulatedOnDevice: Precision = { half: roundHalfOnDevice };

export function precisionOf(kind: 'fp32' | 'fp16'): Precision {
  if (kind === 'fp32') return fp32;
  return matmulPath() === 'webgpu' ? fp16EmulatedOnDevice : fp16Emulated;
}

/**
 * Which fp16 path a run uses. Always 'emulated' today. The hook for real half storage: when
 * fused f16 kernels exist (they need the adapter's shader-f16), return 'native' here for an
 * adapter that offers it, and make precisionOf() hand out their Precision.
 */
export function fp16PathFor(kind: 'fp32' | 'fp16', _shaderF16: boolean): Fp16Path | null {
  return kind === 'fp16' ? 'emulated' : null;
}
