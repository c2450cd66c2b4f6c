// The precision modes: fp32, and fp16 either EMULATED (values are rounded to IEEE half where
// mixed-precision training keeps half tensors; storage and arithmetic stay float32) or, on a
// webgpu device with shader-f16, NATIVE for the linear layers and attention (half-storage.ts: f16
// storage, an f16 matmul and fp16 flash attention with the emulation's rounding points).
import * as tf from '@tensorflow/tfjs-core';
import type { Fp16Path } from '../../contract/protocol.ts';
import { matmulPath } from '../backend/select.ts';
import type { Precision } from '../model/linear.ts';
import { roundHalfArray } from './half.ts';
import { roundHalfOnDevice } from './half-webgpu.ts';
import { fp16NativeOnDevice, nativeHalfReady } from './half-storage.ts';

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
  if (matmulPath() !== 'webgpu') return fp16Emulated;
  return nativeHalfReady() ? fp16NativeOnDevice : fp16EmulatedOnDevice;
}

/**
 * Which fp16 path a run uses: 'native' when the adapter offers shader-f16 and the half kernels
 * are on for this device (half-storage.ts prepareNativeHalf), so precisionOf() hands out
 * fp16NativeOnDevice; 'emulated' otherwise. null for fp32.
 */
export function fp16PathFor(kind: 'fp32' | 'fp16', shaderF16: boolean): Fp16Path | null {
  if (kind !== 'fp16') return null;
  return shaderF16 && nativeHalfReady() && matmulPath() === 'webgpu' ? 'native' : 'emulated';
}
