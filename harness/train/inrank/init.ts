// Deterministic parameter init for the low-rank factors.
//
// torch's nn.Linear default, init.kaiming_uniform_(w, a=sqrt(5)), draws from
// U(-b, b) with b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)), so b = 1 / sqrt(fan_in),
// where fan_in is the size of the tensor's second dimension. The reference applies it to
// A [max_rank x in] (fan_in = in) and to B [out x max_rank] (fan_in = max_rank).

/** splitmix32-style mixing: a counter-based hash, so a value depends only on (seed, stream, index). */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Uniform floats in [0, 1) for positions 0..n-1 of stream `stream` under `seed`. */
export function uniformStream(seed: number, stream: number, n: number): Float32Array {
  const out = new Float32Array(n);
  const key = mix32(mix32(seed | 0) ^ Math.imul(stream + 1, 0x9e3779b9));
  for (let i = 0; i < n; i++) {
    // Two rounds over (key, index) give well-spread bits; 24 of them make the float.
    const h = mix32(mix32(key ^ Math.imul(i, 0x27d4eb2d)) + i);
    out[i] = (h >>> 8) / 16777216;
  }
  return out;
}

/** Kaiming-uniform (a = sqrt(5)) values for a [rows x cols] weight, times scale. */
export function kaimingUniform(rows: number, cols: number, scale: number, seed: number, stream: number): Float32Array {
  const bound = (1 / Math.sqrt(cols)) * scale;
  const u = uniformStream(seed, stream, rows * cols);
  for (let i = 0; i < u.length; i++) u[i] = (2 * u[i]! - 1) * bound;
  return u;
}
