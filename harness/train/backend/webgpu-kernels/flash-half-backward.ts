// fp16 flash attention backward in WGSL, one dispatch after the row terms (flash-half-rows.ts),
// laid out as flash-backward.ts (grid z = 0: workgroups own query rows and write dq; z = 1: key
// rows, dk and dv; one writer per element). The probabilities are recomputed from the packed q,
// k and the forward's m and l, and every value is rounded where the emulation
// (ops/attention.ts headsAttention backward) rounds it: dy_h = half(dy), dpd = half(dy_h v^T),
// dp = dpd mask, ds = half(p (dp - D) scale) with p the float32 probability, pd = half(p mask),
// and dq = ds k, dk = ds^T q, dv = pd^T dy_h each summed in ascending order and rounded once.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { run, type WebgpuBackendLike } from './program.ts';
import { tiledProgram } from './tiled.ts';
import { MASK_WGSL } from './mask-hash.ts';
import { ACCUMULATE_DKV, ACCUMULATE_DQ, BACKWARD_BODY, dotFn, tileSide, tileWgsl } from './flash-tiles.ts';
import { flashHalfShape, HALF_FLASH_UNIFORMS, HALF_SCORE_WGSL, halfFlashUniforms, loadHalfRows, loadRoundedRows, MASKED, ROW_STATS_WGSL } from './flash-half-tiles.ts';

/** Per (query i, key j): (half(p mask), ds); zero outside the causal triangle and past the sequence. */
const PAIR_WGSL = `
  fn pair(bh : i32, i : i32, j : i32, qa : i32, kb : i32, stats : vec2<f32>, dRow : f32) -> vec2<f32> {
    let s = score(i, j, qa, kb);
    if (s <= ${MASKED}) { return vec2<f32>(0.0, 0.0); }
    let p = exp(s - stats.x) / stats.y;
    let mask = maskAt3(bh, i, j, uniforms.t);
    let dp = roundHalf(dot_dos_vs(qa, kb)) * mask;
    return vec2<f32>(roundHalf(p * mask), roundHalf(p * (dp - dRow) * uniforms.scale));
  }
  fn rowD(seq : i32, i : i32, h : i32) -> f32 {
    if (i >= uniforms.t) { return 0.0; }
    return D[(seq + i) * uniforms.heads + h];
  }
  fn writeRows(token : i32, col : i32, lx : i32, v : array<f32, NC>) {
    for (var c = 0; c < uniforms.nc; c++) {
      let d = lx + c * B;
      if (d < HD) { setOutputAtIndex(token * 3 * uniforms.c + col + d, roundHalf(v[c])); }
    }
  }`;

/** dq of query rows q0.. q0 + B: sum over keys of ds_ij k_j. */
const DQ_WGSL = `
  fn dqTile(bh : i32, h : i32, seq : i32, q0 : i32, lx : i32, ly : i32, tid : i32) {
    ${loadHalfRows('qs', 'QKV', 'h * HD', 'q0')}
    ${loadRoundedRows('dos', 'DY', 'h * HD', 'q0')}
    let qi = q0 + ly;
    let stats = rowStats(seq, qi, h);
    let dRow = rowD(seq, qi, h);
    let tiles = uniformI32((min(q0 + B, uniforms.t) + B - 1) / B, tid);
    var acc : array<f32, NC>;
    for (var kt = 0; kt < tiles; kt++) {
      let k0 = kt * B;
      workgroupBarrier();
      ${loadHalfRows('ks', 'QKV', 'uniforms.c + h * HD', 'k0')}
      ${loadHalfRows('vs', 'QKV', '2 * uniforms.c + h * HD', 'k0')}
      workgroupBarrier();
      dss[ly * B + lx] = pair(bh, qi, k0 + lx, ly, lx, stats, dRow).y;
      workgroupBarrier();
      ${ACCUMULATE_DQ}
    }
    if (qi < uniforms.t) { writeRows(seq + qi, h * HD, lx, acc); }
  }`;

/** dk and dv of key rows k0.. k0 + B: sums over queries of ds_ij q_i and pd_ij dy_h,i. */
const DKV_WGSL = `
  fn dkvTile(bh : i32, h : i32, seq : i32, k0 : i32, lx : i32, ly : i32, tid : i32) {
    ${loadHalfRows('ks', 'QKV', 'uniforms.c + h * HD', 'k0')}
    ${loadHalfRows('vs', 'QKV', '2 * uniforms.c + h * HD', 'k0')}
    let first = uniformI32(k0 / B, tid);
    let tiles = (uniforms.t + B - 1) / B;
    var dk : array<f32, NC>;
    var dv : array<f32, NC>;
    for (var qt = first; qt < tiles; qt++) {
      let q0 = qt * B;
      workgroupBarrier();
      ${loadHalfRows('qs', 'QKV', 'h * HD', 'q0')}
      ${loadRoundedRows('dos', 'DY', 'h * HD', 'q0')}
      if (lx == 0) { let st = rowStats(seq, q0 + ly, h); ms[ly] = st.x; ls[ly] = st.y; drow[ly] = rowD(seq, q0 + ly, h); }
      workgroupBarrier();
      // Thread (ly, lx): key k0 + ly against query q0 + lx.
      let pd = pair(bh, q0 + lx, k0 + ly, lx, ly, vec2<f32>(ms[lx], ls[lx]), drow[lx]);
      pds[ly * B + lx] = pd.x;
      dss[ly * B + lx] = pd.y;
      workgroupBarrier();
      ${ACCUMULATE_DKV}
    }
    if (k0 + ly < uniforms.t) { writeRows(seq + k0 + ly, uniforms.c + h * HD, lx, dk); writeRows(seq + k0 + ly, 2 * uniforms.c + h * HD, lx, dv); }
  }`;

/** (dy [N, C], packed qkv, stats [N, 2H], D [N, H]) -> dqkv [N, 3C] holding halves; attrs as flashHalfForward's. */
export function flashHalfBackward(backend: WebgpuBackendLike, dy: TensorInfo, qkv: TensorInfo, stats: TensorInfo, d: TensorInfo,
  attrs: NamedAttrMap | undefined): TensorInfo {
  const s = flashHalfShape(qkv, attrs);
  const side = tileSide(s.hd, 4, 2, 3);
  const program = tiledProgram({
    key: `flash_half_bwd_${side}_${s.hd}`, inputs: ['DY', 'QKV', 'STATS', 'D'], outputShape: [s.batch * s.t, 3 * s.c], side,
    grid: [Math.ceil(s.t / side), s.batch * s.heads, 2], uniforms: HALF_FLASH_UNIFORMS,
    helpers: `${tileWgsl(side, s.hd, ['qs', 'dos', 'ks', 'vs'], ['pds', 'dss'], ['ms', 'ls', 'drow'])}
      const NC = ${Math.ceil(s.hd / side)};
      ${MASK_WGSL}
      ${dotFn('qs', 'ks')}
      ${dotFn('dos', 'vs')}
      ${HALF_SCORE_WGSL}
      ${ROW_STATS_WGSL}
      ${PAIR_WGSL}
      ${DQ_WGSL}
      ${DKV_WGSL}`,
    body: BACKWARD_BODY,
  });
  return run(backend, program, [dy, qkv, stats, d], halfFlashUniforms(s, attrs, side), [1]);
}
