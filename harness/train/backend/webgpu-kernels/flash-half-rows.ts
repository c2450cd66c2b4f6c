// The row term of the fp16 flash attention backward: D_i = sum_j p_ij dp_ij, with dp_ij =
// half(dy_h,i . v_j) mask_ij, what the emulation's softmax gradient subtracts (ops/attention.ts
// headsAttention: softmaxGrad of p and dp). The fp32 kernel reads D as dy . y, which holds only
// when nothing is rounded in between; here dp and y are rounded, so D is summed as the emulation
// sums it, from the recomputed p (the forward's m and l) in ascending key order. Its own dispatch
// before flash-half-backward.ts: the workgroups there that own key rows need D of many queries.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { run, type WebgpuBackendLike } from './program.ts';
import { tiledProgram } from './tiled.ts';
import { MASK_WGSL } from './mask-hash.ts';
import { dotFn, QUERY_TILE_INDICES, tileSide, tileWgsl } from './flash-tiles.ts';
import { flashHalfShape, HALF_FLASH_UNIFORMS, HALF_SCORE_WGSL, halfFlashUniforms, loadHalfRows, loadRoundedRows, MASKED, ROW_STATS_WGSL } from './flash-half-tiles.ts';

const BODY = `
    ${QUERY_TILE_INDICES}
    let qi = q0 + ly;
    ${loadHalfRows('qs', 'QKV', 'h * HD', 'q0')}
    ${loadRoundedRows('dos', 'DY', 'h * HD', 'q0')}
    let stats = rowStats(seq, qi, h);
    let tiles = uniformI32((min(q0 + B, uniforms.t) + B - 1) / B, tid);
    var d = 0.0;
    for (var kt = 0; kt < tiles; kt++) {
      let k0 = kt * B;
      workgroupBarrier();
      ${loadHalfRows('ks', 'QKV', 'uniforms.c + h * HD', 'k0')}
      ${loadHalfRows('vs', 'QKV', '2 * uniforms.c + h * HD', 'k0')}
      workgroupBarrier();
      let kj = k0 + lx;
      let s = score(qi, kj, ly, lx);
      var term = 0.0;
      if (s > ${MASKED}) {
        let dp = roundHalf(dot_dos_vs(ly, lx)) * maskAt3(bh, qi, kj, uniforms.t);
        term = exp(s - stats.x) / stats.y * dp;
      }
      ps[ly * B + lx] = term;
      workgroupBarrier();
      for (var j = 0; j < uniforms.side; j++) { d += ps[ly * B + j]; }
    }
    if (qi < uniforms.t && lx == 0) { setOutputAtIndex((seq + qi) * uniforms.heads + h, d); }`;

/** (dy [N, C], packed qkv, stats [N, 2H] of the forward) -> D [N, H]; attrs as flashHalfForward's. */
export function flashHalfRowTerms(backend: WebgpuBackendLike, dy: TensorInfo, qkv: TensorInfo, stats: TensorInfo, attrs: NamedAttrMap | undefined): TensorInfo {
  const s = flashHalfShape(qkv, attrs);
  const side = tileSide(s.hd, 4, 1, 0);
  const program = tiledProgram({
    key: `flash_half_rows_${side}_${s.hd}`, inputs: ['DY', 'QKV', 'STATS'], outputShape: [s.batch * s.t, s.heads], side,
    grid: [Math.ceil(s.t / side), s.batch * s.heads, 1], uniforms: HALF_FLASH_UNIFORMS,
    helpers: `${tileWgsl(side, s.hd, ['qs', 'dos', 'ks', 'vs'], ['ps'], [])}
      ${MASK_WGSL}
      ${dotFn('qs', 'ks')}
      ${dotFn('dos', 'vs')}
      ${HALF_SCORE_WGSL}
      ${ROW_STATS_WGSL}`,
    body: BODY,
  });
  return run(backend, program, [dy, qkv, stats], halfFlashUniforms(s, attrs, side), [1]);
}
