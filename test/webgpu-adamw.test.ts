// The in-place multi-tensor AdamW on webgpu (harness/train/backend/webgpu-adamw-in-place.ts)
// against the generic AdamW (optim/adamw.ts without fused kernels), its fallback to the
// 3-dispatch kernel where a buffer is shared, and the tfjs-backend-webgpu internals it relies on
// (webgpu-tfjs-internals.ts): when an upgrade changes them, the pin test fails naming them.
// Runs on any WebGPU adapter, lavapipe included; skipped, saying why, where there is none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../harness/train/backend/select.ts';
import { probeAdapter } from '../harness/train/backend/webgpu.ts';
import { registerWebgpuKernels, unregisterWebgpuKernels } from '../harness/train/backend/webgpu-kernels/index.ts';
import { adamWTensorsPerDispatch, multiAdamWStats } from '../harness/train/backend/webgpu-adamw-in-place.ts';
import { missingInternals, webgpuInternals } from '../harness/train/backend/webgpu-tfjs-internals.ts';
import { AdamW } from '../harness/train/optim/adamw.ts';
import { accumulate } from '../harness/train/trainer/micro-batch.ts';
import { accumulateStats } from '../harness/train/backend/webgpu-accumulate-in-place.ts';
import { FusedKernel } from '../harness/train/ops/fused.ts';
import { gaussian } from './inrank-fixtures.ts';
import { assertClose, scaled } from './kernel-compare.ts';

const probe = await probeAdapter();
const skip = 'reason' in probe ? `no WebGPU adapter here: ${probe.reason}` : false;
if (!skip) await selectBackend('webgpu');

/** Odd sizes (one past 2^16 among them), decay on some and off others. */
const SHAPES: Array<{ shape: number[]; decay: boolean }> = [
  { shape: [1], decay: false }, { shape: [7], decay: true }, { shape: [40, 25], decay: true },
  { shape: [65537], decay: false }, { shape: [3, 5], decay: true },
];

interface Run { out: Float32Array[]; inPlaceTensors: number; dispatches: number; kernels: string[] }

/** Three AdamW steps over SHAPES (a read-back between steps, one clipped step); `share` makes tensor 2's parameter shared. */
async function threeSteps(share: boolean): Promise<Run & { sharedBefore: Float32Array | null; sharedAfter: Float32Array | null }> {
  const vars = SHAPES.map((s, i) => {
    const init = tf.tensor(scaled(sizeOf(s.shape), 100 + i, 0.5), s.shape);
    const v = tf.variable(init, true);
    init.dispose(); // the variable alone holds its buffer
    return v;
  });
  const params = vars.map((variable, i) => ({ fullName: `p${i}`, variable, decay: SHAPES[i]!.decay }));
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const shared = share ? vars[2]!.clone() : null; // a second holder of the parameter's buffer
  const sharedBefore = shared ? ((await shared.data()) as Float32Array) : null;
  const stats0 = { ...multiAdamWStats };
  const kernels: string[] = [];
  for (let s = 0; s < 3; s++) {
    const grads = new Map(SHAPES.map((x, i) => [`p${i}`, tf.tensor(gaussian(sizeOf(x.shape), 10 * s + i), x.shape)] as const));
    const info = await tf.profile(() => opt.step(grads, 1e-2, s === 1 ? 0.25 : 1));
    kernels.push(...info.kernels.map((k) => k.name));
    tf.dispose([...grads.values()]);
    await vars[1]!.data(); // tfjs caches a read on the CPU: the next in-place step must drop it
  }
  const read = async (t: tf.Tensor) => (await t.data()) as Float32Array;
  const out = await Promise.all([...vars, ...opt.m.values(), ...opt.v.values()].map(read));
  const sharedAfter = shared ? await read(shared) : null;
  tf.dispose([...vars, ...(shared ? [shared] : [])]);
  opt.dispose();
  return {
    out, sharedBefore, sharedAfter, kernels,
    inPlaceTensors: multiAdamWStats.tensors - stats0.tensors, dispatches: multiAdamWStats.dispatches - stats0.dispatches,
  };
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

async function generic(share: boolean) {
  unregisterWebgpuKernels();
  try {
    return await threeSteps(share);
  } finally {
    registerWebgpuKernels();
  }
}

test('webgpu: tfjs-backend-webgpu 4.22 has every private member the in-place AdamW uses', { skip }, () => {
  const version = (createRequire(import.meta.url)('@tensorflow/tfjs-backend-webgpu/package.json') as { version: string }).version;
  assert.match(version, /^4\.22\./, `tfjs-backend-webgpu ${version}: review harness/train/backend/webgpu-tfjs-internals.ts against it, then widen this pin`);
  assert.deepEqual(missingInternals(tf.backend()), [], 'tfjs-backend-webgpu changed: the in-place AdamW falls back to 3 dispatches per tensor');
  const b = webgpuInternals()!;
  assert.ok(b !== null);
  // the device got the adapter's storage-buffer maximum (webgpu-limits.ts), so at least WebGPU's default width
  assert.equal(b.device.limits.maxStorageBuffersPerShaderStage, (probe as unknown as { adapter: { limits: { maxStorageBuffersPerShaderStage: number } } }).adapter.limits.maxStorageBuffersPerShaderStage);
  assert.ok(adamWTensorsPerDispatch(b) >= 2);
});

test('webgpu: the multi-tensor in-place AdamW equals the generic update over three steps', { skip }, async () => {
  const fused = await threeSteps(false);
  const per = adamWTensorsPerDispatch(webgpuInternals()!);
  assert.equal(fused.inPlaceTensors, 3 * SHAPES.length, 'every tensor updated in place');
  assert.equal(fused.dispatches, 3 * Math.ceil(SHAPES.length / per), `${per} tensors per dispatch`);
  assert.ok(!fused.kernels.includes(FusedKernel.adamW), 'no 3-dispatch kernel ran');
  const want = await generic(false);
  assert.equal(want.inPlaceTensors, 0);
  assertClose(fused.out, want.out, 2e-6, 'multi-tensor AdamW');
});

test('webgpu: a parameter whose buffer another tensor holds takes the 3-dispatch kernel and the other tensor keeps its values', { skip }, async () => {
  const fused = await threeSteps(true);
  // step 1 declines the shared parameter; its fresh outputs belong to the optimizer, so steps 2 and 3 run it in place
  assert.equal(fused.inPlaceTensors, 3 * SHAPES.length - 1);
  assert.equal(fused.kernels.filter((k) => k === FusedKernel.adamW).length, 1);
  assert.deepEqual(fused.sharedAfter, fused.sharedBefore, 'the other holder was not written');
  const want = await generic(true);
  assertClose(fused.out, want.out, 2e-6, 'multi-tensor AdamW with a shared parameter');
});

test('webgpu: the squared global norm in a few dispatches equals the generic sum', { skip }, async () => {
  // more tensors than one dispatch binds, odd sizes: three levels of partial sums
  const sizes = Array.from({ length: 40 }, (_, i) => [1, 7, 1000, 65537, 33][i % 5]! + i);
  const grads = new Map(sizes.map((n, i) => [`g${i}`, tf.tensor1d(scaled(n, 300 + i, 0.1 * (1 + (i % 3))))] as const));
  const dataIds = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
  const norm = async () => {
    const ids0 = dataIds();
    let out: tf.Scalar | null = null;
    const info = await tf.profile(() => {
      out = AdamW.globalNormSquared(grads);
    });
    const s = out! as tf.Scalar;
    assert.deepEqual(s.shape, []);
    const v = (await s.data())[0]!;
    s.dispose();
    assert.equal(dataIds(), ids0, 'no partial sums left behind');
    return { v, kernels: info.kernels.map((k) => k.name) };
  };
  const fused = await norm();
  assert.deepEqual(fused.kernels, [FusedKernel.sumSquares]);
  unregisterWebgpuKernels();
  const generic = await norm();
  registerWebgpuKernels();
  let exact = 0;
  for (const g of grads.values()) for (const x of await g.data()) exact += x * x;
  assert.ok(Math.abs(fused.v - exact) <= 1e-5 * exact, `fused ${fused.v}, float64 ${exact}`);
  assert.ok(Math.abs(fused.v - generic.v) <= 1e-5 * exact, `fused ${fused.v}, generic ${generic.v}`);
  tf.dispose([...grads.values()]);
  const empty = new Map([['e', tf.tensor1d([])]]);
  const zero = AdamW.globalNormSquared(empty);
  assert.equal((await zero.data())[0], 0, 'only empty tensors: 0');
  tf.dispose([zero, ...empty.values()]);
});

/** Accumulates three micro-batches of gradients over SHAPES (in place unless INRANK_WEBGPU_IN_PLACE=0); `share` holds a second reference to one sum. */
async function accumulateThree(share: boolean) {
  const acc = new Map<string, tf.Tensor>();
  const stats0 = { ...accumulateStats };
  let shared: tf.Tensor | null = null;
  for (let micro = 0; micro < 3; micro++) {
    const src = new Map(SHAPES.map((x, i) => [`p${i}`, tf.tensor(gaussian(sizeOf(x.shape), 50 * micro + i), x.shape)] as const));
    accumulate(acc, src);
    if (share && micro === 0) shared = acc.get('p3')!.clone();
    await acc.get('p1')!.data(); // a cached CPU copy must not outlive an in-place sum
  }
  const out = await Promise.all([...acc.values()].map(async (t) => (await t.data()) as Float32Array));
  const sharedValues = shared ? ((await shared.data()) as Float32Array) : null;
  tf.dispose([...acc.values(), ...(shared ? [shared] : [])]);
  return { out, sharedValues, tensors: accumulateStats.tensors - stats0.tensors, dispatches: accumulateStats.dispatches - stats0.dispatches };
}

test('webgpu: gradient accumulation in place equals tf.add bit for bit; a shared sum takes tf.add', { skip }, async () => {
  const fused = await accumulateThree(false);
  const per = Math.floor(webgpuInternals()!.device.limits.maxStorageBuffersPerShaderStage / 2);
  assert.equal(fused.tensors, 2 * SHAPES.length);
  assert.equal(fused.dispatches, 2 * Math.ceil(SHAPES.length / per));
  const sharedRun = await accumulateThree(true);
  assert.equal(sharedRun.tensors, 2 * SHAPES.length - 1, 'the shared sum is not written in place');
  process.env.INRANK_WEBGPU_IN_PLACE = '0';
  try {
    const want = await accumulateThree(false);
    assert.equal(want.tensors, 0);
    fused.out.forEach((x, i) => sameValues(x, want.out[i]!, `sum ${i}`));
    sharedRun.out.forEach((x, i) => sameValues(x, want.out[i]!, `sum ${i} (one shared)`));
    sameValues(sharedRun.sharedValues!, Float32Array.from(gaussian(sizeOf(SHAPES[3]!.shape), 3)), 'the other holder keeps the first gradient');
  } finally {
    delete process.env.INRANK_WEBGPU_IN_PLACE;
  }
});

/** Bit-for-bit equality, naming the first element that differs (deepEqual's diff of 65537 numbers takes minutes). */
function sameValues(got: Float32Array, want: Float32Array, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  const i = got.findIndex((v, j) => !Object.is(v, want[j]));
  assert.equal(i, -1, `${label}[${i}]: ${got[i]} vs ${want[i]}`);
}
