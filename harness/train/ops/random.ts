// Counter-based randomness: every random number is a pure function of (seed, stream ids, index),
// so a resumed run draws exactly what an uninterrupted one would, with no generator state to save.

/** A 32-bit avalanche mix (the murmur3 finalizer). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes a list of integers into one 32-bit key (the stream's identity). */
export function streamKey(...ids: number[]): number {
  let h = 0x9e3779b9;
  for (const id of ids) {
    h = fmix32((h ^ (id | 0)) + Math.imul(Math.floor(id / 4294967296) | 0, 0x27d4eb2d));
    h = (h + 0x6a09e667) >>> 0;
  }
  return h;
}

/** Stable 32-bit id of a string (e.g. a parameter name). */
export function stringId(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return fmix32(h >>> 0);
}

/** Uniform in [0, 1) with 24 bits, the index-th draw of a stream. */
export function uniformAt(key: number, index: number): number {
  return fmix32((key ^ fmix32(index + 0x632be5ab)) >>> 0) / 4294967296;
}

/** Fills out with uniforms [0, 1) of stream key starting at draw 0. */
export function fillUniform(key: number, out: Float32Array | Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i] = uniformAt(key, i);
}

/** Fills out with standard normals (Box-Muller on draws 2i, 2i+1). */
export function fillNormal(key: number, out: Float32Array, std = 1): void {
  for (let i = 0; i < out.length; i += 2) {
    const u1 = 1 - uniformAt(key, i); // (0, 1]: log is finite
    const u2 = uniformAt(key, i + 1);
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
}

/** A permutation of 0..n-1 (Fisher-Yates driven by stream key). */
export function permutation(key: number, n: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniformAt(key, i) * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
