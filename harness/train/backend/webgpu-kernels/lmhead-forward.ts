// The tied LM head and softmax cross-entropy forward in WGSL, fused flash-style: one workgroup
// per B tokens walks the vocabulary in B-wide tiles, computes each tile of logits x wte^T in
// workgroup memory and folds it into a running row max and exp-sum (online softmax), picking
// up the target's logit on the way. Each of a row's B threads keeps the statistics of its own
// column stride; they merge once at the end. Out: [N, 3], each row's max and exp-sum (the
// backward recomputes the probabilities from them with the softmax kernel's formula) and its
// loss; a second dispatch takes the mean. Neither the [N, V] logits nor the probabilities reach
// memory. The fp16 variant reads packed halves and rounds each logit to half, as the
// materialised f16 product does before the cross-entropy.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { run, type WebgpuBackendLike } from './program.ts';
import { tiledProgram } from './tiled.ts';
import { rowProgram } from './row-program.ts';
import { foldedGrid, GROUP_WGSL, LMHEAD_UNIFORMS, lmHeadShape, lmHeadUniforms, logitTileWgsl, rounded, SIDE } from './lmhead-tiles.ts';

/**
 * The generic softmax's semantics, merged in any order: +inf or NaN anywhere in the row makes
 * the sum NaN (exp(inf - inf), exp(NaN - m)), -inf adds 0. LOWEST (finite) starts the max so a
 * leading -inf does not give exp(-inf + inf).
 */
const STATS_WGSL = `
  const LOWEST : f32 = -3.4028234e38;
  fn pushStat(a : vec2<f32>, x : f32) -> vec2<f32> {
    let m = max(a.x, x);
    return vec2<f32>(m, a.y * exp(a.x - m) + exp(x - m));
  }
  fn mergeStats(a : vec2<f32>, b : vec2<f32>) -> vec2<f32> {
    let m = max(a.x, b.x);
    return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
  }
  // NaN test on the bits: a compiler may fold x != x away.
  fn isNanF(x : f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
  var<workgroup> mS : array<f32, ${SIDE * SIDE}>;
  var<workgroup> lS : array<f32, ${SIDE * SIDE}>;
  var<workgroup> tS : array<f32, ${SIDE * SIDE}>;`;

/**
 * The loss is ops/cross-entropy.ts's to the formula: p_t = exp(x_t - max) / sum, then
 * -log(max(p_t, floor)), keeping a NaN p_t (max() may drop it; the loss scaler needs it).
 * The target's logit is summed across the row's threads: exactly one holds it, the rest 0.
 */
const body = (half: boolean): string => `
    let lx = i32(localId.x);
    let ly = i32(localId.y);
    let tid = ly * B + lx;
    let a0 = ${GROUP_WGSL} * B;
    let row = a0 + ly;
    var tgt = -1;
    if (row < uniforms.rows) { tgt = T[row]; }
    var st = vec2<f32>(LOWEST, 0.0);
    var xt = 0.0;
    let tiles = (uniforms.vocab + B - 1) / B;
    for (var vt = 0; vt < tiles; vt++) {
      let v = vt * B + lx;
      let s = ${rounded(half, 'logitTile(a0, vt * B, lx, ly, tid)')};
      if (v < uniforms.vocab) { st = pushStat(st, s); }
      if (v == tgt) { xt = s; }
    }
    mS[tid] = st.x;
    lS[tid] = st.y;
    tS[tid] = xt;
    workgroupBarrier();
    if (lx == 0 && row < uniforms.rows) {
      var tot = vec2<f32>(mS[tid], lS[tid]);
      var xTarget = tS[tid];
      for (var j = 1; j < uniforms.side; j++) {
        tot = mergeStats(tot, vec2<f32>(mS[tid + j], lS[tid + j]));
        xTarget += tS[tid + j];
      }
      let p = exp(xTarget - tot.x) / tot.y;
      setOutputAtIndex(row * 3, tot.x);
      setOutputAtIndex(row * 3 + 1, tot.y);
      setOutputAtIndex(row * 3 + 2, -log(select(max(p, uniforms.floor), p, isNanF(p))));
    }`;

/** The rows' losses summed by one workgroup (each invocation a stride of rows), over N. */
const MEAN_BODY = `
  var acc = 0.0;
  for (var r = tid; r < uniforms.rows; r += W) { acc += S[r * 3 + 2]; }
  let total = sumAcross(acc, tid);
  if (tid == 0) { setOutputAtIndex(0, total / f32(uniforms.rows)); }`;

/**
 * (x [N, C], wte [V, C], targets int32 [N]) -> (stats [N, 3]: max, exp-sum and loss per row,
 * mean loss []); x and wte are packed halves where embd (C) is given.
 */
export function lmHeadForward(backend: WebgpuBackendLike, x: TensorInfo, wte: TensorInfo, targets: TensorInfo, floor: number, embd?: number): TensorInfo[] {
  const s = lmHeadShape(x, wte, targets, embd);
  const stats = run(backend, tiledProgram({
    key: `lmhead_fwd${s.half ? '_half' : ''}`, inputs: ['X', 'WTE', 'T'], outputShape: [s.rows, 3], side: SIDE,
    grid: foldedGrid(Math.ceil(s.rows / SIDE)), uniforms: LMHEAD_UNIFORMS,
    helpers: `${logitTileWgsl('X', 'uniforms.rows', 'WTE', 'uniforms.vocab', s.half)}
      ${STATS_WGSL}`,
    body: body(s.half),
  }), [x, wte, targets], lmHeadUniforms(s, 0, floor), s.half ? [0, 1, 2] : [2]);
  const loss = run(backend, rowProgram({
    key: 'lmhead_mean', inputs: ['S'], outputShape: [1], groups: 1, width: 256, uniforms: 'rows : i32,', body: MEAN_BODY,
  }), [stats], [{ type: 'int32', data: [s.rows] }]);
  return [stats, { ...loss, shape: [] }];
}
