// Flash-style causal attention forward in WGSL: one workgroup per (sequence and head, tile of B
// query rows) walks the key tiles up to its diagonal with an online softmax (running row max
// and sum, the output accumulator rescaled as the max grows), so the T x T scores never reach
// memory. Attention-probability dropout draws its mask element by element from the keyed hash
// (mask-hash.ts) at the index the materialised [B H, T, T] mask would have, so both paths drop
// the same entries. The output [tokens, C + H] holds y (columns 0..C) and each head's row
// logsumexp (column C + h) for the backward's recomputation.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { run, type WebgpuBackendLike } from './program.ts';
import { tiledProgram } from './tiled.ts';
import { MASK_UNIFORMS, MASK_WGSL, maskUniforms } from './mask-hash.ts';
import { dotFn, flashShape, loadRows, QUERY_TILE_INDICES, SHAPE_UNIFORMS, shapeUniforms, tileSide, tileWgsl } from './flash-tiles.ts';

/** Below this a score is a masked (future or padding) entry. */
const MASKED = '-1e30';

/** One key tile: thread (ly, lx) scores query q0 + ly against key k0 + lx, then the row's running state updates. */
const KEY_TILE = `
      workgroupBarrier();
      ${loadRows('ks', 'QKV', 'c3', 'uniforms.c + h * HD', 'k0')}
      ${loadRows('vs', 'QKV', 'c3', '2 * uniforms.c + h * HD', 'k0')}
      workgroupBarrier();
      let kj = k0 + lx;
      var s = ${MASKED};
      if (kj <= qi && qi < uniforms.t) { s = dot_qs_ks(ly, lx) * uniforms.scale; }
      ps[ly * B + lx] = s;
      workgroupBarrier();
      var mNew = m;
      for (var j = 0; j < uniforms.side; j++) { mNew = max(mNew, ps[ly * B + j]); }
      workgroupBarrier();
      // Masked entries get exactly 0 (padding rows keep mNew at the sentinel and are never written).
      let e = select(exp(s - mNew), 0.0, s <= ${MASKED});
      ps[ly * B + lx] = e;
      pds[ly * B + lx] = e * maskAt3(bh, qi, kj, uniforms.t);
      workgroupBarrier();
      let corr = exp(m - mNew);
      l *= corr;
      for (var j = 0; j < uniforms.side; j++) { l += ps[ly * B + j]; }
      for (var c = 0; c < uniforms.nc; c++) {
        let d = lx + c * B;
        var sum = 0.0;
        if (d < HD) { for (var j = 0; j < uniforms.side; j++) { sum += pds[ly * B + j] * vs[j * HD + d]; } }
        acc[c] = acc[c] * corr + sum;
      }
      m = mNew;`;

function body(): string {
  return `
    ${QUERY_TILE_INDICES}
    let c3 = 3 * uniforms.c;
    let qi = q0 + ly;
    ${loadRows('qs', 'QKV', 'c3', 'h * HD', 'q0')}
    // Causal: keys 0 .. the tile's last query; the count is the same for the whole workgroup.
    let tiles = uniformI32((min(q0 + B, uniforms.t) + B - 1) / B, tid);
    var m = ${MASKED};
    var l = 0.0;
    var acc : array<f32, NC>;
    for (var kt = 0; kt < tiles; kt++) {
      let k0 = kt * B;
      ${KEY_TILE}
    }
    if (qi < uniforms.t) {
      let rowOut = (seq + qi) * (uniforms.c + uniforms.heads);
      for (var c = 0; c < uniforms.nc; c++) {
        let d = lx + c * B;
        if (d < HD) { setOutputAtIndex(rowOut + h * HD + d, acc[c] / l); }
      }
      if (lx == 0) { setOutputAtIndex(rowOut + uniforms.c + h, m + log(l)); }
    }`;
}

/** qkv [N, 3C] -> [N, C + H] (y, then the rows' logsumexp per head); attrs batch, heads, scale, key, p. */
export function flashForward(backend: WebgpuBackendLike, qkv: TensorInfo, attrs: NamedAttrMap | undefined): TensorInfo {
  const s = flashShape(qkv, attrs);
  const side = tileSide(s.hd, 3, 2, 0);
  const nc = Math.ceil(s.hd / side);
  const program = tiledProgram({
    key: `flash_fwd_${side}_${s.hd}`, inputs: ['QKV'], outputShape: [s.batch * s.t, s.c + s.heads], side,
    grid: [Math.ceil(s.t / side), s.batch * s.heads, 1], uniforms: SHAPE_UNIFORMS + MASK_UNIFORMS,
    helpers: `${tileWgsl(side, s.hd, ['qs', 'ks', 'vs'], ['ps', 'pds'], [])}
      const NC = ${nc};
      ${MASK_WGSL}
      ${dotFn('qs', 'ks')}`,
    body: body(),
  });
  return run(backend, program, [qkv], [...shapeUniforms(s, Number(attrs?.scale), side), ...maskUniforms(Number(attrs?.key ?? 0), Number(attrs?.p ?? 0))]);
}
