// What the fp16 flash attention kernels (flash-half-forward.ts, flash-half-backward.ts) share:
// the shape, read from the packed qkv (half-pack.ts: two halves a 32-bit word, rows padded to a
// whole word) and the attrs; the WGSL that loads a head's rows of packed q, k or v, or of a
// float32 gradient rounded to half, into float32 workgroup tiles; and the rounded score.
//
// The tiles are float32, not f16: a half widens exactly, the products of two halves are exact in
// float32 (so any summation that adds them in the same order gives the same bits), and WGSL lets
// an implementation assume f16 values hold no Inf or NaN, which the loss scaler must see.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { Uniform } from './program.ts';
import { wordsPerRow } from './half-pack.ts';
import { HALF_BITS_WGSL } from './half-bits.ts';
import { SHAPE_UNIFORMS, shapeUniforms, type FlashShape } from './flash-tiles.ts';
import { MASK_UNIFORMS, maskUniforms } from './mask-hash.ts';

/** The attention's shape: qkv packed int32 [N, ceil(3C / 2)], attrs batch, heads and embd (C). */
export function flashHalfShape(words: TensorInfo, attrs: NamedAttrMap | undefined): FlashShape {
  const batch = Number(attrs?.batch);
  const heads = Number(attrs?.heads);
  const c = Number(attrs?.embd);
  const [n, w] = words.shape as [number, number];
  if (words.shape.length !== 2 || words.dtype !== 'int32' || !(batch > 0) || n % batch !== 0 || !(heads > 0) || !(c > 0) ||
    c % heads !== 0 || w !== wordsPerRow(3 * c)) {
    throw new Error(`fp16 flash attention: packed qkv ${words.dtype} [${words.shape}] does not hold ${batch} sequences of ${heads} heads, C ${c}`);
  }
  return { batch, heads, t: n / batch, c, hd: c / heads };
}

/** Uniforms of every fp16 flash kernel: the shape, the packed row's words, the dropout hash. */
export const HALF_FLASH_UNIFORMS = `${SHAPE_UNIFORMS} words : i32, ${MASK_UNIFORMS}`;

export function halfFlashUniforms(s: FlashShape, attrs: NamedAttrMap | undefined, side: number): Uniform[] {
  return [
    ...shapeUniforms(s, Number(attrs?.scale), side), { type: 'int32', data: [wordsPerRow(3 * s.c)] },
    ...maskUniforms(Number(attrs?.key ?? 0), Number(attrs?.p ?? 0)),
  ];
}

/** WGSL rowStats(seq, i, h): the forward's m and l of query row i of head h (STATS [N, 2H]; m 0 and l 1 past the sequence). */
export const ROW_STATS_WGSL = `
  fn rowStats(seq : i32, i : i32, h : i32) -> vec2<f32> {
    if (i >= uniforms.t) { return vec2<f32>(0.0, 1.0); }
    let r = (seq + i) * 2 * uniforms.heads;
    return vec2<f32>(STATS[r + h], STATS[r + uniforms.heads + h]);
  }`;

/** Below this a score is a masked (future or padding) entry. */
export const MASKED = '-1e30';

/**
 * WGSL: roundHalf (bit for bit the emulation's rounding), and score(i, j, qa, kb): query i
 * against key j from tile rows qa of qs and kb of ks, scaled and rounded to half as the
 * emulation's half(scale q k^T); MASKED above the diagonal and past the sequence. Needs dot_qs_ks.
 */
export const HALF_SCORE_WGSL = `
  ${HALF_BITS_WGSL}
  fn roundHalf(x : f32) -> f32 { return halfValue(halfBits(x)); }
  fn score(i : i32, j : i32, qa : i32, kb : i32) -> f32 {
    if (j > i || i >= uniforms.t) { return ${MASKED}; }
    return roundHalf(dot_qs_ks(qa, kb) * uniforms.scale);
  }`;

/**
 * WGSL that copies rows r0 .. r0 + B of one head (columns col .. col + HD of the packed [tokens,
 * uniforms.words] input src) into the float32 B x HD tile dst, zeros past the sequence's end.
 * Needs `tid` and `seq` (as flash-tiles.ts loadRows).
 */
export function loadHalfRows(dst: string, src: string, col: string, r0: string): string {
  return `for (var e = tid; e < B * HD; e += B * B) {
      let r = ${r0} + e / HD;
      var v = 0.0;
      if (r < uniforms.t) {
        let x = ${col} + e % HD;
        let w = bitcast<u32>(${src}[(seq + r) * uniforms.words + x / 2]);
        v = halfValue((w >> (16u * u32(x & 1))) & 0xffffu);
      }
      ${dst}[e] = v;
    }`;
}

/** As loadHalfRows, from a float32 [tokens, C] gradient rounded to half on the way (the emulation's half(dy)). */
export function loadRoundedRows(dst: string, src: string, col: string, r0: string): string {
  return `for (var e = tid; e < B * HD; e += B * B) {
      let r = ${r0} + e / HD;
      var v = 0.0;
      if (r < uniforms.t) { v = roundHalf(${src}[(seq + r) * uniforms.c + ${col} + e % HD]); }
      ${dst}[e] = v;
    }`;
}
