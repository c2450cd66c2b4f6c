// The dropout mask's keyed hash in WGSL (harness/train/ops/random.ts's uniformAt in u32
// arithmetic: WGSL's u32 multiply wraps like Math.imul), shared by the kernels that draw the
// mask themselves: dropout.ts writes it out, the flash attention kernels draw each element where
// they use it, so both equal the host's mask bit for bit.
import type { Uniform } from './program.ts';

/** The uniforms the hash reads (append to a program's uniform fields). */
export const MASK_UNIFORMS = 'key : u32, threshold : u32, none : i32, keep : f32,';

export const MASK_WGSL = `
  fn fmix32(x : u32) -> u32 {
    var h = x;
    h ^= h >> 16u;
    h *= 0x85ebca6bu;
    h ^= h >> 13u;
    h *= 0xc2b2ae35u;
    h ^= h >> 16u;
    return h;
  }
  // 0 or 1 / (1 - p) for the mask's flat index (u32: the index wraps like the host's).
  fn maskAt(index : u32) -> f32 {
    let u = fmix32(uniforms.key ^ fmix32(index + 0x632be5abu));
    return select(0.0, uniforms.keep, uniforms.none == 0 && u >= uniforms.threshold);
  }
  // Element (row i, column j) of matrix m of [.., T, T] masks, its index counted in u32 (no i32 overflow).
  fn maskAt3(m : i32, i : i32, j : i32, t : i32) -> f32 {
    return maskAt((u32(m) * u32(t) + u32(i)) * u32(t) + u32(j));
  }`;

/** The values of MASK_UNIFORMS for stream key and drop probability p. */
export function maskUniforms(key: number, p: number): Uniform[] {
  // u / 2^32 >= p  <=>  u >= ceil(p 2^32); a threshold of 2^32 keeps nothing.
  const t = Math.ceil(p * 4294967296);
  const none = t >= 4294967296 ? 1 : 0;
  return [
    { type: 'uint32', data: [key >>> 0] }, { type: 'uint32', data: [none ? 0 : Math.max(0, t)] },
    { type: 'int32', data: [none] }, { type: 'float32', data: [1 / (1 - p)] },
  ];
}
