// IEEE 754 binary16 rounding of float32 values, exact bit arithmetic (no tensor ops): 11-bit
// significand, round to nearest with ties to even, overflow to +-Inf, subnormals down to 2^-24.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds one number to the nearest half-precision value (returned as a number). */
export function roundHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = bits & 0x80000000;
  const exp = (bits >>> 23) & 0xff;
  if (exp === 0xff) return x; // Inf / NaN stay
  const abs = Math.abs(f32[0]!);
  // 65520 is the midpoint between 65504 (max half) and 2^16: it and above round to Inf.
  if (abs >= 65520) return sign ? -Infinity : Infinity;
  if (abs < 2 ** -14) {
    // Subnormal half: a fixed grid of 2^-24; Math.round is not ties-to-even, so do it by hand.
    const q = abs * 2 ** 24; // exact: scaling by a power of two
    let r = Math.floor(q);
    const frac = q - r;
    if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r += 1;
    const v = r * 2 ** -24;
    return sign ? -v : v;
  }
  // Normal range: drop 13 of float32's 23 significand bits with round-to-nearest-even.
  const lsb = (bits >>> 13) & 1;
  const rounded = ((bits & 0x7fffffff) + 0x0fff + lsb) & ~0x1fff;
  u32[0] = (rounded | sign) >>> 0;
  return f32[0]!;
}

/** Rounds every element in place (the fast loop the tensor hook uses). */
export function roundHalfArray(data: Float32Array): void {
  const u = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i++) {
    const bits = u[i]!;
    const absBits = bits & 0x7fffffff;
    if (absBits >= 0x7f800000) continue; // Inf / NaN
    if (absBits >= 0x38800000) {
      // normal half range (|x| >= 2^-14)
      if (absBits >= 0x477ff000) {
        u[i] = (bits & 0x80000000) | 0x7f800000; // >= 65520 -> Inf
        continue;
      }
      const lsb = (absBits >>> 13) & 1;
      u[i] = ((bits & 0x80000000) | ((absBits + 0x0fff + lsb) & ~0x1fff)) >>> 0;
    } else if (absBits !== 0) {
      data[i] = roundHalf(data[i]!);
    }
  }
}
