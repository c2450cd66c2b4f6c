// Flash-style causal attention backward in WGSL, one dispatch: the probabilities are recomputed
// tile by tile from q, k and the forward's row logsumexp (never stored as T x T), and the
// dropout mask is drawn again from its keyed hash. Workgroups of the first half (grid z = 0) each
// own B query rows and write their dq, walking the keys up to the diagonal; those of the second
// half (z = 1) each own B key rows and write their dk and dv, walking the queries from the
// diagonal on. So every gradient element has one writer and no atomics are needed. The row term
// D_i = sum_j p_ij dp_ij equals dy_i . y_i (the dropout folds into y), read from the forward's
// output.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { run, type WebgpuBackendLike } from './program.ts';
import { tiledProgram } from './tiled.ts';
import { MASK_UNIFORMS, MASK_WGSL, maskUniforms } from './mask-hash.ts';
import { ACCUMULATE_DKV, ACCUMULATE_DQ, BACKWARD_BODY, dotFn, flashShape, loadRows, SHAPE_UNIFORMS, shapeUniforms, tileSide, tileWgsl } from './flash-tiles.ts';

/**
 * Per (query i, key j): p = exp(s - lse_i), pd = p mask, ds = p (dpd mask - D_i) scale, where
 * dpd = dy_i . v_j. Zero outside the causal triangle and past the sequence. Rows come from the
 * tiles qs / dos (queries, index qa) and ks / vs (keys, index kb).
 */
const PAIR_WGSL = `
  fn pair(bh : i32, i : i32, j : i32, qa : i32, kb : i32, lse : f32, dRow : f32) -> vec2<f32> {
    if (j > i || i >= uniforms.t) { return vec2<f32>(0.0, 0.0); }
    let p = exp(dot_qs_ks(qa, kb) * uniforms.scale - lse);
    let mask = maskAt3(bh, i, j, uniforms.t);
    let ds = p * (dot_dos_vs(qa, kb) * mask - dRow) * uniforms.scale;
    return vec2<f32>(p * mask, ds);
  }
  // The forward's logsumexp and D = dy . y of query row i of head h (0 past the sequence).
  fn rowTerms(seq : i32, i : i32, h : i32) -> vec2<f32> {
    if (i >= uniforms.t) { return vec2<f32>(0.0, 0.0); }
    let rowOut = (seq + i) * (uniforms.c + uniforms.heads);
    var d = 0.0;
    for (var e = 0; e < uniforms.hd; e++) { d += DY[(seq + i) * uniforms.c + h * HD + e] * OUT[rowOut + h * HD + e]; }
    return vec2<f32>(OUT[rowOut + uniforms.c + h], d);
  }`;

/** dq of query rows q0.. q0 + B: sum over keys of ds_ij k_j. */
const DQ_WGSL = `
  fn dqTile(bh : i32, h : i32, seq : i32, q0 : i32, lx : i32, ly : i32, tid : i32) {
    let c3 = 3 * uniforms.c;
    ${loadRows('qs', 'QKV', 'c3', 'h * HD', 'q0')}
    ${loadRows('dos', 'DY', 'uniforms.c', 'h * HD', 'q0')}
    let qi = q0 + ly;
    let terms = rowTerms(seq, qi, h);
    let tiles = uniformI32((min(q0 + B, uniforms.t) + B - 1) / B, tid);
    var acc : array<f32, NC>;
    for (var kt = 0; kt < tiles; kt++) {
      let k0 = kt * B;
      workgroupBarrier();
      ${loadRows('ks', 'QKV', 'c3', 'uniforms.c + h * HD', 'k0')}
      ${loadRows('vs', 'QKV', 'c3', '2 * uniforms.c + h * HD', 'k0')}
      workgroupBarrier();
      dss[ly * B + lx] = pair(bh, qi, k0 + lx, ly, lx, terms.x, terms.y).y;
      workgroupBarrier();
      ${ACCUMULATE_DQ}
    }
    if (qi < uniforms.t) { writeRows(seq + qi, h * HD, lx, acc); }
  }`;

/** dk and dv of key rows k0.. k0 + B: sums over queries of ds_ij q_i and pd_ij dy_i. */
const DKV_WGSL = `
  fn dkvTile(bh : i32, h : i32, seq : i32, k0 : i32, lx : i32, ly : i32, tid : i32) {
    let c3 = 3 * uniforms.c;
    ${loadRows('ks', 'QKV', 'c3', 'uniforms.c + h * HD', 'k0')}
    ${loadRows('vs', 'QKV', 'c3', '2 * uniforms.c + h * HD', 'k0')}
    let first = uniformI32(k0 / B, tid);
    let tiles = (uniforms.t + B - 1) / B;
    var dk : array<f32, NC>;
    var dv : array<f32, NC>;
    for (var qt = first; qt < tiles; qt++) {
      let q0 = qt * B;
      workgroupBarrier();
      ${loadRows('qs', 'QKV', 'c3', 'h * HD', 'q0')}
      ${loadRows('dos', 'DY', 'uniforms.c', 'h * HD', 'q0')}
      if (lx == 0) { let terms = rowTerms(seq, q0 + ly, h); lses[ly] = terms.x; drow[ly] = terms.y; }
      workgroupBarrier();
      // Thread (ly, lx): key k0 + ly against query q0 + lx.
      let pd = pair(bh, q0 + lx, k0 + ly, lx, ly, lses[lx], drow[lx]);
      pds[ly * B + lx] = pd.x;
      dss[ly * B + lx] = pd.y;
      workgroupBarrier();
      ${ACCUMULATE_DKV}
    }
    if (k0 + ly < uniforms.t) { writeRows(seq + k0 + ly, uniforms.c + h * HD, lx, dk); writeRows(seq + k0 + ly, 2 * uniforms.c + h * HD, lx, dv); }
  }`;

const WRITE_WGSL = `
  fn writeRows(token : i32, col : i32, lx : i32, v : array<f32, NC>) {
    for (var c = 0; c < uniforms.nc; c++) {
      let d = lx + c * B;
      if (d < HD) { setOutputAtIndex(token * 3 * uniforms.c + col + d, v[c]); }
    }
  }`;

/** (dy [N, C], qkv [N, 3C], out [N, C + H] of flashForward) -> dqkv [N, 3C]; attrs as the forward's. */
export function flashBackward(backend: WebgpuBackendLike, dy: TensorInfo, qkv: TensorInfo, out: TensorInfo, attrs: NamedAttrMap | undefined): TensorInfo {
  const s = flashShape(qkv, attrs);
  const side = tileSide(s.hd, 4, 2, 2);
  const program = tiledProgram({
    key: `flash_bwd_${side}_${s.hd}`, inputs: ['DY', 'QKV', 'OUT'], outputShape: [s.batch * s.t, 3 * s.c], side,
    grid: [Math.ceil(s.t / side), s.batch * s.heads, 2], uniforms: SHAPE_UNIFORMS + MASK_UNIFORMS,
    helpers: `${tileWgsl(side, s.hd, ['qs', 'dos', 'ks', 'vs'], ['pds', 'dss'], ['lses', 'drow'])}
      const NC = ${Math.ceil(s.hd / side)};
      ${MASK_WGSL}
      ${dotFn('qs', 'ks')}
      ${dotFn('dos', 'vs')}
      ${PAIR_WGSL}
      ${WRITE_WGSL}
      ${DQ_WGSL}
      ${DKV_WGSL}`,
    body: BACKWARD_BODY,
  });
  return run(backend, program, [dy, qkv, out], [...shapeUniforms(s, Number(attrs?.scale), side), ...maskUniforms(Number(attrs?.key ?? 0), Number(attrs?.p ?? 0))]);
}
