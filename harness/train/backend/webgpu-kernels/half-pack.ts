// Packed half matrices: a [rows, cols] matrix stored as int32 words [rows, ceil(cols / 2)], two
// IEEE halves a word (low half = even column), each row padded to a whole word so that a word
// never spans two rows (the matmul's tiles then write whole words). pack rounds float32 to half
// exactly as precision/half.ts does; unpack widens exactly (every half is a float32).
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, type WebgpuBackendLike } from './program.ts';
import { HALF_BITS_WGSL } from './half-bits.ts';

export const wordsPerRow = (cols: number): number => Math.ceil(cols / 2);

/** float32 [rows, cols] -> int32 [rows, ceil(cols / 2)] of packed halves. */
export function packHalf(backend: WebgpuBackendLike, x: TensorInfo): TensorInfo {
  if (x.shape.length !== 2 || x.dtype !== 'float32') throw new Error(`packHalf: a 2-D float32 tensor expected, got ${x.dtype} [${x.shape}]`);
  const [rows, cols] = x.shape as [number, number];
  const program = flatProgram({
    key: 'half_pack', inputs: ['X'], outputShape: [rows, wordsPerRow(cols)], uniforms: 'cols : i32, words : i32,',
    helpers: HALF_BITS_WGSL,
    body: `let r = index / uniforms.words;
      let c = 2 * (index - r * uniforms.words);
      let lo = halfBits(X[r * uniforms.cols + c]);
      var hi = 0u;
      if (c + 1 < uniforms.cols) { hi = halfBits(X[r * uniforms.cols + c + 1]); }
      setOutputAtIndexI32(index, bitcast<i32>(lo | (hi << 16u)));`,
  });
  return backend.runWebGPUProgram(program, [x], 'int32', [{ type: 'int32', data: [cols] }, { type: 'int32', data: [wordsPerRow(cols)] }]);
}

/** int32 [rows, ceil(cols / 2)] of packed halves -> float32 [rows, cols]. */
export function unpackHalf(backend: WebgpuBackendLike, words: TensorInfo, cols: number): TensorInfo {
  if (words.shape.length !== 2 || words.dtype !== 'int32' || words.shape[1] !== wordsPerRow(cols)) {
    throw new Error(`unpackHalf: int32 [rows, ${wordsPerRow(cols)}] expected, got ${words.dtype} [${words.shape}]`);
  }
  const rows = words.shape[0]!;
  const program = flatProgram({
    key: 'half_unpack', inputs: ['P'], outputShape: [rows, cols], uniforms: 'cols : i32, words : i32,',
    helpers: HALF_BITS_WGSL,
    body: `let r = index / uniforms.cols;
      let c = index - r * uniforms.cols;
      let w = bitcast<u32>(P[r * uniforms.words + c / 2]);
      setOutputAtIndex(index, halfValue((w >> (16u * u32(c & 1))) & 0xffffu));`,
  });
  return backend.runWebGPUProgram(program, [words], 'float32', [{ type: 'int32', data: [cols] }, { type: 'int32', data: [wordsPerRow(cols)] }]);
}
