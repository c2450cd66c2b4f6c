// The webgpu attention paths against the generic (transposing) formulation of ops/attention.ts,
// forward and backward, at tiny odd shapes (T not a multiple of the kernels' tiles), with and
// without the attention-dropout mask: the WGSL head kernels (strided per-head products on the
// [tokens, 3C] projection) and the flash kernels (no T x T scores in memory). Runs on any WebGPU
// adapter, lavapipe included; skipped with the reason where Dawn finds no adapter.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { registerWebgpuKernels, unregisterWebgpuKernels } from '../harness/train/backend/webgpu-kernels/index.ts';
import { causalSelfAttention, type AttentionShape } from '../harness/train/ops/attention.ts';
import { dropoutDraw } from '../harness/train/ops/dropout.ts';
import { fp32 } from '../harness/train/precision/index.ts';
import { FlashKernel, HeadKernel } from '../harness/train/ops/fused.ts';
import { gaussian } from './inrank-fixtures.ts';
import { startWebgpuForKernels, stopWebgpuForKernels } from './webgpu-fixture.ts';
import { assertClose, scaled } from './kernel-compare.ts';

let noAdapter: string | null = null;

before(async () => {
  noAdapter = await startWebgpuForKernels();
});

after(stopWebgpuForKernels);

type Path = 'generic' | 'heads' | 'flash';
const FLASH = [FlashKernel.forward, FlashKernel.backward];

/** Registers the kernels of one path: none (generic), the WGSL kernels without flash (heads), all (flash). */
function usePath(path: Path): void {
  unregisterWebgpuKernels();
  if (path === 'generic') return;
  assert.ok(registerWebgpuKernels().enabled);
  if (path === 'heads') for (const name of FLASH) if (tf.getKernel(name, 'webgpu')) tf.unregisterKernel(name, 'webgpu');
}

/** Runs compute on one path, checks that `kernel` ran (when given), and reads the outputs. */
async function onPath(path: Path, kernel: string | null, compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  usePath(path);
  let outs: tf.Tensor[] = [];
  const info = await tf.profile(() => {
    outs = tf.tidy(() => compute());
  });
  if (kernel) assert.ok(info.kernels.some((k) => k.name === kernel), `${path}: ${kernel} did not run: ${info.kernels.map((k) => k.name).join(', ')}`);
  const data = await Promise.all(outs.map(async (x) => (await x.data()) as Float32Array));
  tf.dispose(outs);
  return data;
}

/** Attention output and qkv gradient at shape s with dropout probability p (0: none). */
function attention(s: AttentionShape, p: number, seed: number): () => tf.Tensor[] {
  const n = s.batch * s.context;
  const qkv = scaled(n * 3 * s.embd, seed, 1.5);
  const dy = gaussian(n * s.embd, seed + 1);
  return () => {
    // The draw: the generic and head paths make the mask tensor from it, the flash kernels draw it.
    const drop = dropoutDraw(p > 0 ? { p, seed, step: 3, micro: 1 } : null, 4, [s.batch * s.heads, s.context, s.context]);
    const f = causalSelfAttention(tf.tensor2d(qkv, [n, 3 * s.embd]), s, 0.29, drop, fp32);
    return [f.y, f.backward(tf.tensor2d(dy, [n, s.embd]))];
  };
}

test('WGSL head kernels: attention output and qkv gradient equal the generic path (T 19 and 33, hd 8 and 16, with and without dropout)', async (t) => {
  if (noAdapter !== null) return t.skip(`no WebGPU: ${noAdapter}`);
  for (const [s, p] of [[{ batch: 2, context: 19, heads: 2, embd: 16 }, 0], [{ batch: 1, context: 33, heads: 3, embd: 48 }, 0.2]] as const) {
    const compute = attention(s, p, 61);
    const generic = await onPath('generic', null, compute);
    const heads = await onPath('heads', HeadKernel.qkvGrad, compute);
    assertClose(heads, generic, 2e-5, `heads T ${s.context} p ${p}`);
  }
});

// hd 8 and 24 (one tile side 16), hd 64 (the backward's tiles shrink to 8 to fit 16 KiB).
const FLASH_CASES = [
  [{ batch: 2, context: 19, heads: 2, embd: 16 }, 0],
  [{ batch: 1, context: 33, heads: 3, embd: 72 }, 0.2],
  [{ batch: 1, context: 21, heads: 2, embd: 128 }, 0.1],
] as const;

test('WGSL flash attention: output and qkv gradient equal the generic path, dropout mask drawn in the kernel', async (t) => {
  if (noAdapter !== null) return t.skip(`no WebGPU: ${noAdapter}`);
  for (const [s, p] of FLASH_CASES) {
    const compute = attention(s, p, 62);
    const generic = await onPath('generic', null, compute);
    const flash = await onPath('flash', FlashKernel.backward, compute);
    assertClose(flash, generic, 2e-5, `flash T ${s.context} hd ${s.embd / s.heads} p ${p}`);
  }
});

test('WGSL flash attention: a different dropout stream changes the output (the mask is really applied)', async (t) => {
  if (noAdapter !== null) return t.skip(`no WebGPU: ${noAdapter}`);
  const [s] = FLASH_CASES[1];
  const [a] = await onPath('flash', FlashKernel.forward, attention(s, 0.2, 63));
  const [b] = await onPath('flash', FlashKernel.forward, () => attention(s, 0, 63)().slice(0, 1));
  assert.ok(a!.some((v, i) => Math.abs(v - b![i]!) > 1e-3), 'dropout 0.2 gave the output of dropout 0');
});
