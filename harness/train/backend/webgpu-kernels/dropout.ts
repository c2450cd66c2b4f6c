// Dropout masks generated on the GPU: harness/train/ops/random.ts's counter-based uniforms in u32
// arithmetic (mask-hash.ts), so the mask equals the host's bit for bit and nothing is uploaded
// (the generic path draws 4.5M numbers a step on the host).
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, run, type WebgpuBackendLike } from './program.ts';
import { MASK_UNIFORMS, MASK_WGSL, maskUniforms } from './mask-hash.ts';

export function dropoutMask(backend: WebgpuBackendLike, shape: number[], key: number, p: number): TensorInfo {
  return run(backend, flatProgram({
    key: 'dropout_mask', inputs: [], outputShape: shape, uniforms: MASK_UNIFORMS, helpers: MASK_WGSL,
    body: 'setOutputAtIndex(index, maskAt(u32(index)));',
  }), [], maskUniforms(key, p));
}
