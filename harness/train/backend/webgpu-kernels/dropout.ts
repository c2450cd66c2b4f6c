// Dropout masks generated on the GPU: harness/train/ops/random.ts's counter-based uniforms in u32
// arithmetic (WGSL's u32 multiply wraps like Math.imul), so the mask equals the host's bit for
// bit and nothing is uploaded (the generic path draws 4.5M numbers a step on the host).
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, run, type WebgpuBackendLike } from './program.ts';

export function dropoutMask(backend: WebgpuBackendLike, shape: number[], key: number, p: number): TensorInfo {
  // u / 2^32 >= p  <=>  u >= ceil(p 2^32); a threshold of 2^32 keeps nothing.
  const t = Math.ceil(p * 4294967296);
  const none = t >= 4294967296 ? 1 : 0;
  return run(backend, flatProgram({
    key: 'dropout_mask', inputs: [], outputShape: shape,
    uniforms: 'key : u32, threshold : u32, none : i32, keep : f32,',
    helpers: `fn fmix32(x : u32) -> u32 {
        var h = x;
        h ^= h >> 16u;
        h *= 0x85ebca6bu;
        h ^= h >> 13u;
        h *= 0xc2b2ae35u;
        h ^= h >> 16u;
        return h;
      }`,
    body: `let u = fmix32(uniforms.key ^ fmix32(u32(index) + 0x632be5abu));
      setOutputAtIndex(index, select(0.0, uniforms.keep, uniforms.none == 0 && u >= uniforms.threshold));`,
  }), [], [
    { type: 'uint32', data: [key >>> 0] }, { type: 'uint32', data: [none ? 0 : Math.max(0, t)] },
    { type: 'int32', data: [none] }, { type: 'float32', data: [1 / (1 - p)] },
  ]);
}
