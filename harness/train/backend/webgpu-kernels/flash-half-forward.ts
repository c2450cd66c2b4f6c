// fp16 flash attention forward in WGSL, at the rounding points of the emulation
// (ops/attention.ts headsAttention): q, k, v are the packed halves of qkv; each score is
// half(scale q k^T); the probability p = softmax(scores) is float32, but what multiplies v is
// half(p mask), the NORMALISED probability rounded, so the online softmax of the fp32 kernel
// (which rescales an unnormalised sum) cannot be used. The key tiles are walked twice, in two
// dispatches: flashHalfStats finds each row's max m and sum l of exp(s - m) (what backward
// recomputes p from, so it is written anyway), flashHalfContext forms half(exp(s - m) / l mask)
// and accumulates it times v into y, rounded to half. A workgroup owns a head's B query rows;
// the T x T scores never reach memory; the dropout mask is drawn from its keyed hash
// (mask-hash.ts) as in flash-forward.ts.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { run, type WebgpuBackendLike } from './program.ts';
import { tiledProgram } from './tiled.ts';
import { MASK_WGSL } from './mask-hash.ts';
import { dotFn, QUERY_TILE_INDICES, tileSide, tileWgsl } from './flash-tiles.ts';
import { flashHalfShape, HALF_FLASH_UNIFORMS, HALF_SCORE_WGSL, halfFlashUniforms, loadHalfRows, MASKED, ROW_STATS_WGSL } from './flash-half-tiles.ts';

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

/** The start of both bodies: thread and tile indices, the q tile, the causal count of key tiles. */
const PROLOGUE = `
    ${QUERY_TILE_INDICES}
    let qi = q0 + ly;
    ${loadHalfRows('qs', 'QKV', 'h * HD', 'q0')}
    // Causal: keys 0 .. the tile's last query; the count is the same for the whole workgroup.
    let tiles = uniformI32((min(q0 + B, uniforms.t) + B - 1) / B, tid);`;

const STATS_BODY = `${PROLOGUE}
    var m = ${MASKED};
    var l = 0.0;
    for (var kt = 0; kt < tiles; kt++) {
      let k0 = kt * B;
      ${STATS_TILE}
    }
    if (qi < uniforms.t && lx == 0) {
      setOutputAtIndex((seq + qi) * 2 * uniforms.heads + h, m);
      setOutputAtIndex((seq + qi) * 2 * uniforms.heads + uniforms.heads + h, l);
    }`;

const CONTEXT_BODY = `${PROLOGUE}
    let stats = rowStats(seq, qi, h);
    let m = stats.x;
    let l = stats.y;
    var acc : array<f32, NC>;
    for (var kt = 0; kt < tiles; kt++) {
      let k0 = kt * B;
      ${CONTEXT_TILE}
    }
    if (qi < uniforms.t) {
      for (var c = 0; c < uniforms.nc; c++) {
        let d = lx + c * B;
        if (d < HD) { setOutputAtIndex((seq + qi) * uniforms.c + h * HD + d, roundHalf(acc[c])); }
      }
    }`;

/** One of the two passes: its workgroup arrays, output and body. */
function pass(backend: WebgpuBackendLike, name: string, inputs: TensorInfo[], attrs: NamedAttrMap | undefined, withV: boolean): TensorInfo {
  const s = flashHalfShape(inputs[0]!, attrs);
  const side = tileSide(s.hd, withV ? 3 : 2, withV ? 2 : 1, 0);
  const program = tiledProgram({
    key: `flash_half_${name}_${side}_${s.hd}`, inputs: withV ? ['QKV', 'STATS'] : ['QKV'], side,
    outputShape: [s.batch * s.t, withV ? s.c : 2 * s.heads],
    grid: [Math.ceil(s.t / side), s.batch * s.heads, 1], uniforms: HALF_FLASH_UNIFORMS,
    helpers: `${tileWgsl(side, s.hd, withV ? ['qs', 'ks', 'vs'] : ['qs', 'ks'], withV ? ['pds'] : ['ps'], [])}
      const NC = ${Math.ceil(s.hd / side)};
      ${MASK_WGSL}
      ${dotFn('qs', 'ks')}
      ${HALF_SCORE_WGSL}
      ${withV ? ROW_STATS_WGSL : ''}`,
    body: withV ? CONTEXT_BODY : STATS_BODY,
  });
  return run(backend, program, inputs, halfFlashUniforms(s, attrs, side), [0]);
}

/** Packed qkv int32 [N, ceil(3C / 2)] -> stats [N, 2H]: each head's row max m, then sum l; attrs batch, heads, embd, scale, key, p. */
export function flashHalfStats(backend: WebgpuBackendLike, qkv: TensorInfo, attrs: NamedAttrMap | undefined): TensorInfo {
  return pass(backend, 'stats', [qkv], attrs, false);
}

/** (packed qkv, stats) -> y [N, C] holding halves; the same attrs. */
export function flashHalfContext(backend: WebgpuBackendLike, qkv: TensorInfo, stats: TensorInfo, attrs: NamedAttrMap | undefined): TensorInfo {
  return pass(backend, 'context', [qkv, stats], attrs, true);
}
