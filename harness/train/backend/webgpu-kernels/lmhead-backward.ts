// The fused LM head + cross-entropy backward in WGSL: dlogits = (softmax - onehot) scale is
// recomputed tile by tile from x, wte and the forward's row max and exp-sum, never stored as [N, V].
// Two dispatches split the work the way the flash attention backward does, so every gradient
// element has one writer and no atomics are needed: dx, where each workgroup owns B tokens and
// walks the vocabulary (dx = dlogits wte), and dwte, where each owns B vocabulary rows and walks
// the tokens (dwte = dlogits^T x). Each thread keeps its share of its owner row's C sums. The
// fp16 variant rounds where the materialised f16 head does: the logits, dlogits and both products.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { run, type WebgpuBackendLike } from './program.ts';
import { tiledProgram } from './tiled.ts';
import { CHUNK, foldedGrid, GROUP_WGSL, LMHEAD_UNIFORMS, lmHeadShape, lmHeadUniforms, loadChunk, logitTileWgsl, rounded, SIDE, type LmHeadShape } from './lmhead-tiles.ts';

/**
 * dlogits of (token row, vocabulary v) from its logit s, p by the softmax kernel's formula
 * exp(s - max) / sum; 0 outside the shape (padding of the tiles).
 */
const gradWgsl = (half: boolean): string => `
  var<workgroup> gS : array<f32, ${SIDE * SIDE}>;
  fn gradAt(row : i32, v : i32, s : f32) -> f32 {
    if (row >= uniforms.rows || v >= uniforms.vocab) { return 0.0; }
    let hit = select(0.0, 1.0, v == T[row]);
    return ${rounded(half, '(exp(s - S[row * 3]) / S[row * 3 + 1] - hit) * uniforms.scale')};
  }`;

/**
 * Owner row a0 + ly: for each walked tile, the B x B dlogits go to gS, then the walked rows come
 * through walkT chunk by chunk and thread lx adds columns lx, lx + B, .. of each chunk.
 */
function body(tokensOwn: boolean, ownerCount: string, walkedCount: string, walked: string, half: boolean): string {
  const grad = tokensOwn ? 'gradAt(a0 + ly, b0 + lx, s)' : 'gradAt(b0 + lx, a0 + ly, s)';
  return `
    let lx = i32(localId.x);
    let ly = i32(localId.y);
    let tid = ly * B + lx;
    let a0 = ${GROUP_WGSL} * B;
    var acc : array<f32, NC>;
    let tiles = (${walkedCount} + B - 1) / B;
    for (var bt = 0; bt < tiles; bt++) {
      let b0 = bt * B;
      let s = ${rounded(half, 'logitTile(a0, b0, lx, ly, tid)')};
      gS[tid] = ${grad};
      for (var k0 = 0; k0 < uniforms.c; k0 += KC) {
        workgroupBarrier();
        ${loadChunk('walkT', walked, walkedCount, 'b0', half)}
        workgroupBarrier();
        for (var i = 0; i < KC / B; i++) {
          let d = lx + i * B;
          var sum = 0.0;
          for (var j = 0; j < uniforms.side; j++) { sum += gS[ly * B + j] * walkT[j * KC + d]; }
          if (k0 + d < uniforms.c) { acc[k0 / B + i] += sum; }
        }
      }
    }
    if (a0 + ly < ${ownerCount}) {
      for (var i = 0; i < NC; i++) {
        let d = lx + i * B;
        if (d < uniforms.c) { setOutputAtIndex((a0 + ly) * uniforms.c + d, ${rounded(half, 'acc[i]')}); }
      }
    }`;
}

function gradProgram(s: LmHeadShape, tokensOwn: boolean) {
  const [owner, ownerCount, walked, walkedCount] = tokensOwn
    ? ['X', 'uniforms.rows', 'WTE', 'uniforms.vocab'] : ['WTE', 'uniforms.vocab', 'X', 'uniforms.rows'];
  const owned = tokensOwn ? s.rows : s.vocab;
  // The private sums cover whole chunks (KC / B per chunk) so no index runs past the array.
  const nc = Math.ceil(s.c / CHUNK) * (CHUNK / SIDE);
  return tiledProgram({
    key: `lmhead_bwd_${tokensOwn ? 'dx' : 'dwte'}_${nc}${s.half ? '_half' : ''}`, inputs: ['X', 'WTE', 'T', 'S'], outputShape: [owned, s.c], side: SIDE,
    grid: foldedGrid(Math.ceil(owned / SIDE)), uniforms: LMHEAD_UNIFORMS,
    helpers: `${logitTileWgsl(owner, ownerCount, walked, walkedCount, s.half)}
      const NC = ${nc};
      ${gradWgsl(s.half)}`,
    body: body(tokensOwn, ownerCount, walkedCount, walked, s.half),
  });
}

/**
 * (x [N, C], wte [V, C], targets, stats [N, 3] of lmHeadForward) -> (dx [N, C], dwte [V, C]), float32
 * (holding halves in fp16); dlogits scaled by `scale`; x and wte packed halves where embd is given.
 */
export function lmHeadBackward(backend: WebgpuBackendLike, x: TensorInfo, wte: TensorInfo, targets: TensorInfo, stats: TensorInfo,
  scale: number, embd?: number): TensorInfo[] {
  const s = lmHeadShape(x, wte, targets, embd);
  const uniforms = lmHeadUniforms(s, scale, 0);
  return [true, false].map((tokensOwn) => run(backend, gradProgram(s, tokensOwn), [x, wte, targets, stats], uniforms, s.half ? [0, 1, 2] : [2]));
}
