// fp16 flash attention forward in WGSL, at the rounding points of the emulation
// (ops/attention.ts headsAttention): q, k, v are the packed halves of qkv; each score is
// half(scale q k^T); the probability p = softmax(scores) is float32, but what multiplies v is
// half(p mask), the NORMALISED probability rounded, so the online softmax of the fp32 kernel
// (which rescales an unnormalised sum) cannot be used. A workgroup (a head, B query rows)
// instead walks its key tiles twice: pass 1 finds each row's max m and sum l of exp(s - m),
// pass 2 forms half(exp(s - m) / l mask) and accumulates it times v. The T x T scores never
// reach memory; the dropout mask is drawn from its keyed hash (mask-hash.ts) as in flash-forward.ts.
// Output [N, C + 2H]: y rounded to half (columns 0..C), then m and l of each head's rows.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { run, type WebgpuBackendLike } from './program.ts';
import { tiledProgram } from './tiled.ts';
import { MASK_WGSL } from './mask-hash.ts';
import { dotFn, tileSide, tileWgsl } from './flash-tiles.ts';
import { flashHalfShape, HALF_FLASH_UNIFORMS, HALF_SCORE_WGSL, halfFlashUniforms, loadHalfRows, MASKED } from './flash-half-tiles.ts';

/** Pass 1 over one key tile: the row's max and sum of exp, rescaled as the max grows. */
const STATS_TILE = `
      workgroupBarrier();
      ${loadHalfRows('ks', 'QKV', 'uniforms.c + h * HD', 'k0')}
      workgroupBarrier();
      ps[ly * B + lx] = score(qi, k0 + lx, ly, lx);
      workgroupBarrier();
      var mNew = m;
      for (var j = 0; j < uniforms.side; j++) { mNew = max(mNew, ps[ly * B + j]); }
      var sum = 0.0;
      for (var j = 0; j < uniforms.side; j++) { let s = ps[ly * B + j]; sum += select(exp(s - mNew), 0.0, s <= ${MASKED}); }
      l = l * exp(m - mNew) + sum;
      m = mNew;`;

/** Pass 2 over one key tile: y += half(p mask) v, summed over keys in ascending order. */
const CONTEXT_TILE = `
      workgroupBarrier();
      ${loadHalfRows('ks', 'QKV', 'uniforms.c + h * HD', 'k0')}
      ${loadHalfRows('vs', 'QKV', '2 * uniforms.c + h * HD', 'k0')}
      workgroupBarrier();
      let kj = k0 + lx;
      let s = score(qi, kj, ly, lx);
      var pd = 0.0;
      if (s > ${MASKED}) { pd = roundHalf(exp(s - m) / l * maskAt3(bh, qi, kj, uniforms.t)); }
      pds[ly * B + lx] = pd;
      workgroupBarrier();
      for (var c = 0; c < uniforms.nc; c++) {
        let d = lx + c * B;
        if (d < HD) { for (var j = 0; j < uniforms.side; j++) { acc[c] += pds[ly * B + j] * vs[j * HD + d]; } }
      }`;

const BODY = `
    let lx = i32(localId.x);
    let ly = i32(localId.y);
    let tid = ly * B + lx;
    let q0 = i32(workgroupId.x) * B;
    let bh = i32(workgroupId.y);
    let h = bh % uniforms.heads;
    let seq = (bh / uniforms.heads) * uniforms.t;
    let qi = q0 + ly;
    ${loadHalfRows('qs', 'QKV', 'h * HD', 'q0')}
    // Causal: keys 0 .. the tile's last query; the count is the same for the whole workgroup.
    let tiles = uniformI32((min(q0 + B, uniforms.t) + B - 1) / B, tid);
    var m = ${MASKED};
    var l = 0.0;
    for (var kt = 0; kt < tiles; kt++) {
      let k0 = kt * B;
      ${STATS_TILE}
    }
    var acc : array<f32, NC>;
    for (var kt = 0; kt < tiles; kt++) {
      let k0 = kt * B;
      ${CONTEXT_TILE}
    }
    if (qi < uniforms.t) {
      let rowOut = (seq + qi) * (uniforms.c + 2 * uniforms.heads);
      for (var c = 0; c < uniforms.nc; c++) {
        let d = lx + c * B;
        if (d < HD) { setOutputAtIndex(rowOut + h * HD + d, roundHalf(acc[c])); }
      }
      if (lx == 0) {
        setOutputAtIndex(rowOut + uniforms.c + h, m);
        setOutputAtIndex(rowOut + uniforms.c + uniforms.heads + h, l);
      }
    }`;

/** Packed qkv int32 [N, ceil(3C / 2)] -> [N, C + 2H] (y, then m and l per head); attrs batch, heads, embd, scale, key, p. */
export function flashHalfForward(backend: WebgpuBackendLike, qkv: TensorInfo, attrs: NamedAttrMap | undefined): TensorInfo {
  const s = flashHalfShape(qkv, attrs);
  const side = tileSide(s.hd, 3, 2, 0);
  const program = tiledProgram({
    key: `flash_half_fwd_${side}_${s.hd}`, inputs: ['QKV'], outputShape: [s.batch * s.t, s.c + 2 * s.heads], side,
    grid: [Math.ceil(s.t / side), s.batch * s.heads, 1], uniforms: HALF_FLASH_UNIFORMS,
    helpers: `${tileWgsl(side, s.hd, ['qs', 'ks', 'vs'], ['ps', 'pds'], [])}
      const NC = ${Math.ceil(s.hd / side)};
      ${MASK_WGSL}
      ${dotFn('qs', 'ks')}
      ${HALF_SCORE_WGSL}`,
    body: BODY,
  });
  return run(backend, program, [qkv], halfFlashUniforms(s, attrs, side), [0]);
}
