// IEEE binary16 bit arithmetic in WGSL, bit for bit the rounding of precision/half.ts
// (roundHalfArray): round to nearest even, |x| >= 65520 to Inf, subnormals on the 2^-24 grid,
// NaN stays NaN (the quiet NaN 0x7fc00000 round-trips to itself). Integer operations only, so
// no shader feature is needed and the result never depends on how a driver converts f32 to f16
// (WGSL leaves the rounding of that conversion and its overflow to the implementation).
export const HALF_BITS_WGSL = `
  fn halfBits(x : f32) -> u32 {
    let bits = bitcast<u32>(x);
    let sign = (bits >> 16u) & 0x8000u;
    let a = bits & 0x7fffffffu;
    if (a > 0x7f800000u) { return sign | 0x7e00u | ((a >> 13u) & 0x3ffu); }
    if (a >= 0x477ff000u) { return sign | 0x7c00u; }
    if (a >= 0x38800000u) {
      // keep 10 of the 23 significand bits, ties to even; a carry moves into the exponent
      let lsb = (a >> 13u) & 1u;
      return sign | (((a + 0x0fffu + lsb) >> 13u) - (112u << 10u));
    }
    // Subnormal half: in [0.5, 1) float32's spacing is 2^-24, the half grid; the hardware's
    // round-to-nearest-even of 0.5 + |x| picks the grid point, its bits above 0.5's count it.
    return sign | (bitcast<u32>(bitcast<f32>(a) + 0.5) - 0x3f000000u);
  }
  fn halfValue(h : u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if (e == 0x1fu) { return bitcast<f32>(sign | 0x7f800000u | (m << 13u)); }
    if (e == 0u) { return bitcast<f32>(sign | bitcast<u32>(f32(m) * 5.9604644775390625e-8)); }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
  }`;
