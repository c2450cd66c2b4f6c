// The trainer on WebGPU (Dawn's Node bindings) against the wasm path: forward, backward and
// optimizer results of a small dense GPT-2 and an InRank one agree within float32 tolerance,
// and a stopped and resumed webgpu run gives the uninterrupted run's losses. In CI these run on
// Mesa's software Vulkan driver (lavapipe, scripts/install-system-deps.sh); they are skipped,
// saying why, only where no WebGPU adapter can be created at all.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { parseRunConfig, type RunConfig } from '../harness/contract/config.ts';
import type { StepEvent, TrainEvent } from '../harness/contract/protocol.ts';
import { selectBackend } from '../harness/train/backend/select.ts';
import { probeAdapter } from '../harness/train/backend/webgpu.ts';
import { GPT } from '../harness/train/model/gpt.ts';
import { linearFactoryFor } from '../harness/train/model/linears.ts';
import { AdamW, clipCoefficient } from '../harness/train/optim/adamw.ts';
import { precisionOf } from '../harness/train/precision/index.ts';
import { accumulate, readStepScalars, runMicroBatchOnDevice } from '../harness/train/trainer/micro-batch.ts';
import { train } from '../harness/train/trainer/run.ts';

const probe = await probeAdapter();
const skip = 'reason' in probe ? `no WebGPU adapter here: ${probe.reason}` : false;
const dir = mkdtempSync(join(tmpdir(), 'webgpu-engine-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const runConfig = (over: Record<string, unknown>): RunConfig =>
  parseRunConfig({
    model: { nEmbd: 64, nHead: 4, nLayer: 2, context: 32, vocabSize: 64, dropout: 0.1 },
    inrank: { initModes: 2, bufferModes: 4, warmupIter: 1, gapIter: 1 },
    ...over,
  });

interface Trace {
  losses: number[];
  norms: number[];
  /** The first step's gradients (backward), by parameter. */
  grads: Map<string, Float32Array>;
  /** Parameters after the last step (optimizer). */
  params: Map<string, Float32Array>;
  ranks: Record<string, number> | null;
}

/** Three optimizer steps of two micro-batches each on `backend`, as the trainer's loop takes them. */
async function traceSteps(backend: 'wasm' | 'webgpu', cfg: RunConfig, precision: 'fp32' | 'fp16'): Promise<Trace> {
  await selectBackend(backend);
  const model = new GPT(cfg.model, 5, linearFactoryFor(cfg));
  const optim = new AdamW(model.params(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  const n = 2 * cfg.model.context;
  const trace: Trace = { losses: [], norms: [], grads: new Map(), params: new Map(), ranks: null };
  // fp16 as the trainer runs it: a loss scale keeps small gradients above half's underflow.
  const scale = precision === 'fp16' ? 4096 : 1;
  try {
    for (let step = 0; step < 3; step++) {
      const acc = new Map<string, tf.Tensor>();
      const losses: tf.Scalar[] = [];
      for (let micro = 0; micro < 2; micro++) {
        const ids = Int32Array.from({ length: n + 1 }, (_, i) => (i * 13 + step * 7 + micro * 3) % cfg.model.vocabSize);
        const opts = { training: true, dropout: { p: cfg.model.dropout, seed: 5, step, micro }, precision: precisionOf(precision) };
        const r = await runMicroBatchOnDevice(model, ids.subarray(0, n), ids.subarray(1), 2, opts, 0.5 * scale);
        losses.push(r.loss);
        accumulate(acc, r.grads);
        for (const { name, layer } of model.mlpLayers()) layer.afterTrainingForward?.(step + 1, name);
      }
      const read = await readStepScalars(losses, acc);
      trace.losses.push(read.losses[0]! + read.losses[1]!);
      const norm = read.scaledNorm / scale;
      trace.norms.push(norm);
      if (step === 0) for (const [name, g] of acc) trace.grads.set(name, (await g.data()) as Float32Array);
      optim.step(acc, 1e-2, clipCoefficient(norm, 1) / scale);
      tf.dispose([...acc.values()]);
    }
    for (const p of model.params()) trace.params.set(p.fullName, (await p.variable.data()) as Float32Array);
    trace.ranks = model.ranks()?.current ?? null;
    return trace;
  } finally {
    model.dispose();
    optim.dispose();
  }
}

/** Largest |a - b| relative to the largest |a| of the same tensor (float32 sums differ in order). */
function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

/**
 * checkParams false (fp16): parameters after AdamW are not compared. Where the exact gradient is
 * zero (the key bias: softmax ignores a shift of all scores) or tiny, both sides hold rounding
 * noise, larger in half precision, and Adam's first steps turn any noise of either sign into a
 * whole lr step of that sign; the losses, norms and gradients are compared instead.
 */
function assertSameTrace(cpu: Trace, gpu: Trace, what: string, tol: number, checkParams = true): void {
  for (let i = 0; i < cpu.losses.length; i++) {
    assert.ok(Math.abs(cpu.losses[i]! - gpu.losses[i]!) < tol * Math.abs(cpu.losses[i]!), `${what}: loss of step ${i + 1}: wasm ${cpu.losses[i]}, webgpu ${gpu.losses[i]}`);
    assert.ok(Math.abs(cpu.norms[i]! - gpu.norms[i]!) < tol * cpu.norms[i]!, `${what}: gradient norm of step ${i + 1}: wasm ${cpu.norms[i]}, webgpu ${gpu.norms[i]}`);
  }
  assert.deepEqual([...gpu.grads.keys()].sort(), [...cpu.grads.keys()].sort());
  for (const [name, g] of cpu.grads) assert.ok(relErr(g, gpu.grads.get(name)!) < 20 * tol, `${what}: gradient of ${name} differs by ${relErr(g, gpu.grads.get(name)!)}`);
  // Adam divides by sqrt(v): where a gradient entry is tiny, the two sides' rounding (different
  // fused kernels: the native ones on wasm, WGSL on webgpu) moves it by a visible part of lr. A
  // wrong step size or sign moves entries by about lr, far past this bound; the update rule
  // itself is checked kernel by kernel in webgpu-kernels.test.ts.
  if (checkParams) for (const [name, p] of cpu.params) assert.ok(relErr(p, gpu.params.get(name)!) < 50 * tol, `${what}: ${name} after 3 steps differs by ${relErr(p, gpu.params.get(name)!)}`);
  assert.deepEqual(gpu.ranks, cpu.ranks, `${what}: rank decisions`);
}

test('dense GPT-2: forward, backward and AdamW on webgpu equal the wasm path (float32 tolerance)', { skip }, async () => {
  const cfg = runConfig({ method: 'full' });
  const cpu = await traceSteps('wasm', cfg, 'fp32');
  const gpu = await traceSteps('webgpu', cfg, 'fp32');
  assertSameTrace(cpu, gpu, 'dense', 1e-4);
  assert.ok(cpu.losses[2]! < cpu.losses[0]!, 'the model learns');
});

test('InRank GPT-2 (rank determinations every tick, fp32 and fp16): webgpu equals the wasm path', { skip }, async () => {
  const cfg = runConfig({ method: 'inrank' });
  const cpu = await traceSteps('wasm', cfg, 'fp32');
  const gpu = await traceSteps('webgpu', cfg, 'fp32');
  assertSameTrace(cpu, gpu, 'inrank fp32', 1e-4);
  assert.ok(Object.values(cpu.ranks!).some((r) => r > 2), `the ranks grew from init_modes 2: ${JSON.stringify(cpu.ranks)}`);
  // fp16: the wasm emulation against webgpu's fp16 path (native half storage where the adapter
  // offers shader-f16, as lavapipe does; else the device emulation). The rounding points and the
  // rounding are the host's, bit for bit; the sums around them differ in order.
  const cpu16 = await traceSteps('wasm', cfg, 'fp16');
  const gpu16 = await traceSteps('webgpu', cfg, 'fp16');
  assertSameTrace(cpu16, gpu16, 'inrank fp16', 2e-3, false);
});

/** The trainer-level tests' model and data: a one-layer InRank GPT on the top-128 Brown vocabulary. */
const tinyInrankRun = {
  method: 'inrank',
  model: { nEmbd: 32, nHead: 2, nLayer: 1, context: 32, vocabSize: 128 },
  data: { vocabTopK: 128, cacheDir: join(tmpdir(), 'inrank-engine-test-cache') },
};

test('webgpu: a run stopped after step 2 and resumed gives the uninterrupted losses', { skip }, async () => {
  const base = {
    ...tinyInrankRun,
    train: { globalBatch: 8, microBatch: 4, maxSteps: 4, evalEvery: 100, evalBatches: 1, checkpointEvery: 100, lr: 3e-3, warmupSteps: 1 },
    stage: { kind: 'single' },
    backend: 'webgpu',
  };
  const stepsOf = async (outDir: string, stopAfter: number | null, resume: boolean): Promise<StepEvent[]> => {
    const events: TrainEvent[] = [];
    const cfg = parseRunConfig({ ...base, outDir, resume });
    await train(cfg, { emit: (e) => events.push(e), log: () => {}, stopRequested: () => stopAfter !== null && events.filter((e) => e.type === 'step').length >= stopAfter });
    const start = events.find((e) => e.type === 'start');
    assert.ok(start?.type === 'start' && start.backend === 'webgpu' && start.adapter?.vendor, 'the start event names the webgpu adapter');
    return events.filter((e): e is StepEvent => e.type === 'step');
  };
  const whole = await stepsOf(join(dir, 'whole'), null, false);
  const first = await stepsOf(join(dir, 'split'), 2, false);
  const rest = await stepsOf(join(dir, 'split'), null, true);
  assert.deepEqual(first.map((e) => e.step), [1, 2]);
  assert.deepEqual(rest.map((e) => e.step), [3, 4]);
  assert.deepEqual([...first, ...rest].map((e) => e.loss), whole.map((e) => e.loss));
});

test('webgpu: evaluation passes tick the InRank counter (read back asynchronously) as on wasm: same determinations, same order', { skip }, async () => {
  // One tick per micro-batch (microBatchesPerTick 1), 2 per step; eval ticks every 2 x 4 windows;
  // a determination every 2nd tick after the first, so the sanity check, validation and the
  // test run before pruning each decide at least once.
  const base = {
    ...tinyInrankRun,
    train: { globalBatch: 8, microBatch: 4, maxSteps: 20, evalEvery: 2, evalBatches: 4, checkpointEvery: 100, lr: 3e-3, warmupSteps: 1 },
    inrank: { initModes: 2, bufferModes: 4, warmupIter: 1, gapIter: 2, microBatchesPerTick: 1, countEvalPasses: true },
    stage: { kind: 'stage1', stage1Steps: 3 },
  };
  const eventsOn = async (backend: 'wasm' | 'webgpu'): Promise<TrainEvent[]> => {
    const events: TrainEvent[] = [];
    const cfg = parseRunConfig({ ...base, backend, outDir: join(dir, `ticks-${backend}`) });
    await train(cfg, { emit: (e) => events.push(e), log: () => {}, stopRequested: () => false });
    return events;
  };
  const cpu = await eventsOn('wasm');
  const gpu = await eventsOn('webgpu');
  const shape = (events: TrainEvent[]) =>
    events.flatMap((e) => (e.type === 'rank' ? [`rank ${e.layer} step ${e.step} counter ${e.counter} -> ${e.currentModes}`] : e.type === 'eval' ? [`eval ${e.split} step ${e.step}`] : e.type === 'step' || e.type === 'prune' ? [e.type] : []));
  assert.deepEqual(shape(gpu), shape(cpu));
  const rankSteps = cpu.filter((e) => e.type === 'rank').map((e) => (e as { step: number }).step);
  assert.ok(rankSteps.includes(0) && rankSteps.at(-1) === 3, `determinations in the sanity check and after the last step (the test run): ${rankSteps.join(',')}`);
  const evals = (events: TrainEvent[]) => events.flatMap((e) => (e.type === 'eval' ? [e.loss] : []));
  for (const [i, l] of evals(cpu).entries()) assert.ok(Math.abs(l - evals(gpu)[i]!) < 1e-3 * l, `eval ${i}: wasm ${l}, webgpu ${evals(gpu)[i]}`);
});
