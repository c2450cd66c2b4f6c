// The fused LM head + cross-entropy (WGSL, backend/webgpu-kernels/lmhead-*.ts) against the
// materialised path (logits = x wte^T, then the WGSL softmax cross-entropy, then the two
// products of dlogits), loss, dx and dwte, at tiny shapes whose N and V are not multiples of the
// kernels' 16-wide tiles and whose C is not a multiple of their 64-column chunks; a NaN input,
// which must reach the loss; and the fp16 variant against the native half head's materialised
// path. Skipped with the reason where Dawn finds no adapter.
import { after, before, test } from 'node:test';

process.env.INRANK_LM_HEAD = 'fused'; // opt-in (ops/lm-head.ts); these tests compare it with the materialised head
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { registerWebgpuKernels, unregisterWebgpuKernels } from '../harness/train/backend/webgpu-kernels/index.ts';
import { crossEntropy } from '../harness/train/ops/cross-entropy.ts';
import { lmHeadCrossEntropy, lmHeadUsable } from '../harness/train/ops/lm-head.ts';
import { mm, mmT, mTm } from '../harness/train/ops/matmul.ts';
import { fp32 } from '../harness/train/precision/index.ts';
import { setMatmulPath } from '../harness/train/backend/select.ts';
import { FusedKernel, LmHeadKernel } from '../harness/train/ops/fused.ts';
import { headForwardHalf } from '../harness/train/model/head-half.ts';
import { halfOps, nativeHalfReady } from '../harness/train/precision/half-storage.ts';
import { selectBackend } from '../harness/train/backend/select.ts';
import { probeAdapter } from '../harness/train/backend/webgpu.ts';
import { relDiff } from '../scripts/fp16-paths.ts';
import { assertClose, scaled } from './kernel-compare.ts';

const probe = await probeAdapter();
const noAdapter = 'reason' in probe ? probe.reason : null;

before(async () => {
  if (noAdapter === null) await selectBackend('webgpu'); // registers the WGSL kernels, the device matmul path, f16 where offered
});

after(() => {
  unregisterWebgpuKernels();
  setMatmulPath('cpu');
});

interface Case { n: number; v: number; c: number; wteScale: number }

/** Loss, dx and dwte at gradScale 3: fused when the LM head kernels are registered, else materialised. */
function head(k: Case, seed: number, poison?: (x: Float32Array, wte: Float32Array) => void): () => tf.Tensor[] {
  const xv = scaled(k.n * k.c, seed, 1);
  const wv = scaled(k.v * k.c, seed + 1, k.wteScale);
  poison?.(xv, wv);
  const targets = Int32Array.from({ length: k.n }, (_, i) => (i * 37 + 5) % k.v);
  return () => {
    const x = tf.tensor2d(xv, [k.n, k.c]);
    const wte = tf.tensor2d(wv, [k.v, k.c]);
    if (lmHeadUsable(fp32)) {
      const f = lmHeadCrossEntropy(x, wte, targets);
      const d = f.backward(3);
      return [tf.reshape(f.loss, [1]), d.dx, d.dwte];
    }
    const ce = crossEntropy(mmT(x, wte), targets);
    const dl = ce.backward(3);
    return [tf.reshape(ce.loss, [1]), mm(dl, wte), mTm(dl, x)];
  };
}

/** Runs compute with all WGSL kernels (fused: true) or all but the LM head's, checking which cross-entropy ran. */
async function onPath(fused: boolean, compute: () => tf.Tensor[], want: string = fused ? LmHeadKernel.backward : FusedKernel.softmaxXentGrad): Promise<Float32Array[]> {
  unregisterWebgpuKernels();
  assert.ok(registerWebgpuKernels().enabled);
  if (!fused) for (const name of Object.values(LmHeadKernel)) tf.unregisterKernel(name, 'webgpu');
  let outs: tf.Tensor[] = [];
  const info = await tf.profile(() => {
    outs = tf.tidy(() => compute());
  });
  assert.ok(info.kernels.some((k) => k.name === want), `${want} did not run: ${info.kernels.map((k) => k.name).join(', ')}`);
  const data = await Promise.all(outs.map(async (x) => (await x.data()) as Float32Array));
  tf.dispose(outs);
  return data;
}

// wteScale 6 at C 64 gives logits of standard deviation ~50: many targets below the 1e-30 floor.
const CASES: Case[] = [
  { n: 19, v: 97, c: 16, wteScale: 0.5 },
  { n: 37, v: 1000, c: 64, wteScale: 0.3 },
  { n: 19, v: 5003, c: 72, wteScale: 0.2 },
  { n: 37, v: 97, c: 64, wteScale: 6 },
];

test('WGSL fused LM head: loss, dx and dwte equal the materialised logits + cross-entropy (N, V off the tiles, C off the chunks)', async (t) => {
  if (noAdapter !== null) return t.skip(`no WebGPU: ${noAdapter}`);
  for (const [i, k] of CASES.entries()) {
    const compute = head(k, 70 + i);
    const want = await onPath(false, compute);
    const got = await onPath(true, compute);
    assertClose(got, want, 2e-5, `N ${k.n} V ${k.v} C ${k.c} wte x${k.wteScale}`);
  }
});

test('WGSL fused LM head: the floor holds where the target probability underflows (loss term -log 1e-30)', async (t) => {
  if (noAdapter !== null) return t.skip(`no WebGPU: ${noAdapter}`);
  const k = CASES[3]!;
  const [loss] = await onPath(true, head(k, 73));
  // Every row's term is at most -log(1e-30) = 69.08; at logits of spread ~50 the mean sits well above 30.
  assert.ok(loss![0]! <= 69.08 + 1e-3 && loss![0]! > 30, `loss ${loss![0]}`);
});

test('WGSL fused LM head: a NaN in x makes the loss, that row of dx and all of dwte NaN, other rows of dx stay right; +inf in wte makes the loss NaN', async (t) => {
  if (noAdapter !== null) return t.skip(`no WebGPU: ${noAdapter}`);
  const k: Case = { n: 19, v: 97, c: 16, wteScale: 0.5 };
  const compute = head(k, 74, (x) => { x[5 * k.c + 3] = NaN; });
  const want = await onPath(false, compute);
  const got = await onPath(true, compute);
  assert.ok(Number.isNaN(got[0]![0]) && Number.isNaN(want[0]![0]), `loss: fused ${got[0]![0]}, materialised ${want[0]![0]}`);
  assert.ok(got[1]!.subarray(5 * k.c, 6 * k.c).every(Number.isNaN), 'row 5 of dx is NaN');
  assert.ok(got[2]!.every(Number.isNaN), 'dwte is NaN');
  const clean = (d: Float32Array) => Float32Array.from(d).filter((_, j) => Math.floor(j / k.c) !== 5);
  assertClose([clean(got[1]!)], [clean(want[1]!)], 2e-5, 'dx rows without the NaN');
  // +inf in one vocabulary row: a row whose logit there is +inf has a NaN softmax, as materialised.
  const inf = head(k, 75, (_, w) => { w[7 * k.c] = Infinity; });
  const [wantInf, gotInf] = [await onPath(false, inf), await onPath(true, inf)];
  assert.ok(Number.isNaN(gotInf[0]![0]) && Number.isNaN(wantInf[0]![0]), `+inf: loss fused ${gotInf[0]![0]}, materialised ${wantInf[0]![0]}`);
});

test('WGSL fused LM head forward past 65,535 row tiles (the workgroup grid folds into 2-D) equals the materialised loss', async (t) => {
  if (noAdapter !== null) return t.skip(`no WebGPU: ${noAdapter}`);
  // Forward only: the dwte dispatch has one workgroup walking all 65,536 row tiles, too slow on lavapipe.
  const n = 16 * 65535 + 21;
  const compute = () => {
    const x = tf.tensor2d(scaled(2 * n, 75, 1), [n, 2]);
    const wte = tf.tensor2d(scaled(6, 76, 1), [3, 2]);
    const targets = Int32Array.from({ length: n }, (_, i) => i % 3);
    const loss = lmHeadUsable(fp32) ? lmHeadCrossEntropy(x, wte, targets).loss : crossEntropy(mmT(x, wte), targets).loss;
    return [tf.reshape(loss, [1])];
  };
  const want = await onPath(false, compute, FusedKernel.softmaxXent);
  const got = await onPath(true, compute, LmHeadKernel.forward);
  assertClose(got, want, 1e-5, `N ${n}`);
});

/** Loss, dx and dwte of the native fp16 head (ln_f taken as the identity) at gradScale 3. */
function headHalf(k: Case, seed: number): () => tf.Tensor[] {
  const xv = scaled(k.n * k.c, seed, 1);
  const wv = scaled(k.v * k.c, seed + 1, k.wteScale);
  const targets = Int32Array.from({ length: k.n }, (_, i) => (i * 37 + 5) % k.v);
  return () => {
    const grads = new Map<string, tf.Tensor>();
    const lnf = { y: tf.tensor2d(xv, [k.n, k.c]), backward: (d: tf.Tensor2D) => d };
    const h = headForwardHalf(halfOps, lnf, tf.tensor2d(wv, [k.v, k.c]), targets, grads);
    const dx = h.backward(3);
    return [tf.reshape(h.loss, [1]), dx, grads.get('wte')!];
  };
}

test('WGSL fused LM head, fp16: loss, dx and dwte equal the native half head\'s materialised path (same rounding points)', async (t) => {
  if (noAdapter !== null || !nativeHalfReady()) return t.skip(`no WebGPU with shader-f16: ${noAdapter ?? 'no shader-f16'}`);
  for (const [i, k] of [CASES[0]!, CASES[2]!].entries()) {
    const compute = headHalf(k, 80 + i);
    const want = await onPath(false, compute, FusedKernel.softmaxXentGrad);
    const got = await onPath(true, compute, LmHeadKernel.backwardHalf);
    const label = `fp16 N ${k.n} V ${k.v} C ${k.c}`;
    assert.ok(Math.abs(got[0]![0]! - want[0]![0]!) <= 1e-5 * want[0]![0]!, `${label} loss: fused ${got[0]![0]}, materialised ${want[0]![0]}`);
    for (const j of [1, 2]) {
      // Summation order may move a rounding by one half step; the rounding points themselves must match.
      const same = got[j]!.filter((v, e) => v === want[j]![e]).length / got[j]!.length;
      assert.ok(relDiff(want[j]!, got[j]!) < 2e-3 && same > 0.9, `${label} output ${j}: relative ${relDiff(want[j]!, got[j]!)}, equal ${same}`);
    }
  }
});
