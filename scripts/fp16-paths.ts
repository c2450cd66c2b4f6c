// fp16 'native' (f16 storage and the f16 matmul, precision/half-storage.ts) against the
// emulation (float32 storage rounded to half) on the same webgpu device, in one run: a dense
// and an InRank GPT-2 trained a few steps each way with dynamic loss scaling and AdamW. Prints
// the bytes the forward holds for backward (tf.memory().numBytes after forward, less before),
// the GPU dispatches per step, and the largest differences between the two paths, next to the
// differences between the emulation on wasm and on webgpu (summation order only) as a baseline.
//   npx tsx scripts/fp16-paths.ts [--steps N] [--embd C] [--context T]
// Needs a WebGPU adapter with shader-f16 (Mesa's lavapipe offers it; speed is not measured).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { parseRunConfig, type RunConfig } from '../harness/contract/config.ts';
import { selectBackend } from '../harness/train/backend/select.ts';
import { GPT } from '../harness/train/model/gpt.ts';
import type { Precision } from '../harness/train/model/linear.ts';
import { linearFactoryFor } from '../harness/train/model/linears.ts';
import { AdamW, clipCoefficient } from '../harness/train/optim/adamw.ts';
import { LossScaler } from '../harness/train/precision/scaler.ts';
import { accumulate, readStepScalars } from '../harness/train/trainer/micro-batch.ts';

export interface Fp16Trace {
  losses: number[];
  /** The loss scale each step ran with (the scaler's decisions). */
  scales: number[];
  /** Gradients of the first step, unscaled, by parameter. */
  grads: Map<string, Float32Array>;
  params: Map<string, Float32Array>;
  /** Largest bytes held on the device by one forward, for its backward. */
  bytesHeld: number;
  dispatchesPerStep: number;
}

/** The tiny model of the comparison (the test's, or larger from the script's flags). */
export function fp16Config(method: 'full' | 'inrank', embd = 64, context = 32): RunConfig {
  return parseRunConfig({
    method,
    model: { nEmbd: embd, nHead: 4, nLayer: 2, context, vocabSize: 64, dropout: 0.1 },
    inrank: { initModes: 2, bufferModes: 4, warmupIter: 1, gapIter: 1 },
    precision: { kind: 'fp16' },
  });
}

let dispatches = 0;
/** Counts every compute dispatch Dawn receives, once per process. */
function countDispatches(): void {
  const ctor = (globalThis as { GPUComputePassEncoder?: { prototype: { dispatchWorkgroups: (...a: unknown[]) => void; counted?: boolean } } }).GPUComputePassEncoder;
  if (!ctor || ctor.prototype.counted) return;
  const original = ctor.prototype.dispatchWorkgroups;
  ctor.prototype.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
    dispatches++;
    return original.apply(this, a);
  };
  ctor.prototype.counted = true;
}

/** One micro-batch as runMicroBatchOnDevice runs it, measuring what the forward holds. */
async function microBatch(model: GPT, ids: Int32Array, n: number, precision: Precision, step: number, micro: number, cfg: RunConfig, gradScale: number) {
  for (const { layer } of model.mlpLayers()) await layer.beforeTrainingForward?.();
  const grads = new Map<string, tf.Tensor>();
  let held = 0;
  const loss = tf.tidy(() => {
    const before = tf.memory().numBytes;
    const f = model.forward(ids.subarray(0, n), ids.subarray(1), 2, { training: true, dropout: { p: cfg.model.dropout, seed: 5, step, micro }, precision });
    held = tf.memory().numBytes - before;
    for (const [name, g] of f.backward(gradScale)) grads.set(name, tf.keep(g));
    return f.loss;
  });
  return { loss, grads, held };
}

/** `steps` optimizer steps of two micro-batches, with the trainer's loss scaling, on the running backend. */
export async function traceFp16(cfg: RunConfig, precision: Precision, steps = 3): Promise<Fp16Trace> {
  countDispatches();
  const model = new GPT(cfg.model, 5, linearFactoryFor(cfg));
  const optim = new AdamW(model.params(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  const scaler = new LossScaler(2 ** 16, 2);
  const n = 2 * cfg.model.context;
  const t: Fp16Trace = { losses: [], scales: [], grads: new Map(), params: new Map(), bytesHeld: 0, dispatchesPerStep: 0 };
  const d0 = dispatches;
  try {
    for (let step = 0; step < steps; step++) {
      const acc = new Map<string, tf.Tensor>();
      const losses: tf.Scalar[] = [];
      const scale = scaler.scale;
      for (let micro = 0; micro < 2; micro++) {
        const ids = Int32Array.from({ length: n + 1 }, (_, i) => (i * 13 + step * 7 + micro * 3) % cfg.model.vocabSize);
        const r = await microBatch(model, ids, n, precision, step, micro, cfg, 0.5 * scale);
        t.bytesHeld = Math.max(t.bytesHeld, r.held);
        losses.push(r.loss);
        accumulate(acc, r.grads);
        for (const { name, layer } of model.mlpLayers()) layer.afterTrainingForward?.(step + 1, name);
      }
      const read = await readStepScalars(losses, acc);
      t.losses.push(read.losses[0]! + read.losses[1]!);
      t.scales.push(scale);
      const finite = Number.isFinite(read.scaledNorm);
      if (step === 0) for (const [name, g] of acc) t.grads.set(name, ((await g.data()) as Float32Array).map((v) => v / scale));
      if (!scaler.update(finite)) optim.step(acc, LR, clipCoefficient(read.scaledNorm / scale, 1) / scale);
      tf.dispose([...acc.values()]);
    }
    for (const p of model.params()) t.params.set(p.fullName, (await p.variable.data()) as Float32Array);
    t.dispatchesPerStep = (dispatches - d0) / steps;
    return t;
  } finally {
    model.dispose();
    optim.dispose();
  }
}

/** Largest |a - b| over the largest |a| of the same tensor. */
export function relDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

export const LR = 1e-2;

/**
 * The largest relative differences of the losses and first-step gradients, and the share of
 * parameter entries whose value after the last step differs by more than LR / 100. A largest
 * parameter difference says little: where a gradient entry is near zero, both sides hold
 * rounding noise and Adam's first steps turn noise of either sign into a whole LR step.
 */
export function compareTraces(emulated: Fp16Trace, native: Fp16Trace): { loss: number; grad: number; paramShare: number } {
  const max = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), 0);
  let off = 0;
  let total = 0;
  for (const [k, p] of emulated.params) {
    const q = native.params.get(k)!;
    p.forEach((v, i) => (off += Math.abs(v - q[i]!) > LR / 100 ? 1 : 0));
    total += p.length;
  }
  return {
    loss: max(emulated.losses.map((l, i) => Math.abs(l - native.losses[i]!) / Math.abs(l))),
    grad: max([...emulated.grads].map(([k, g]) => relDiff(g, native.grads.get(k)!))),
    paramShare: off / total,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '3' }, embd: { type: 'string', default: '128' }, context: { type: 'string', default: '64' } } });
  const steps = Number(values.steps);
  const { fp16Emulated, fp16EmulatedOnDevice } = await import('../harness/train/precision/index.ts');
  const { fp16NativeOnDevice, nativeHalfReady } = await import('../harness/train/precision/half-storage.ts');
  const fmt = (d: ReturnType<typeof compareTraces>) =>
    `loss ${d.loss.toExponential(2)}, first-step gradient ${d.grad.toExponential(2)}, parameter entries off by more than lr/100 after the last step ${(100 * d.paramShare).toFixed(1)}%`;
  for (const method of ['full', 'inrank'] as const) {
    const cfg = fp16Config(method, Number(values.embd), Number(values.context));
    // The baseline of the differences: the same emulation on wasm, which sums in another order.
    await selectBackend('wasm');
    const wasm = await traceFp16(cfg, fp16Emulated, steps);
    const selected = await selectBackend('webgpu');
    if (!nativeHalfReady()) throw new Error(`fp16 native is off on this device (${selected.note})`);
    const emu = await traceFp16(cfg, fp16EmulatedOnDevice, steps);
    const nat = await traceFp16(cfg, fp16NativeOnDevice, steps);
    const m = cfg.model;
    const a = selected.adapter!;
    console.log(`${method} (n_embd ${m.nEmbd}, ${m.nLayer} layers, context ${m.context}, batch 2, vocab ${m.vocabSize}), ${steps} steps of 2 micro-batches, webgpu on ${a.device} [${a.description}], shader-f16 ${a.shaderF16}:`);
    console.log(`  bytes held by a forward for backward: emulated ${emu.bytesHeld}, native ${nat.bytesHeld} (native/emulated ${(nat.bytesHeld / emu.bytesHeld).toFixed(3)})`);
    console.log(`  dispatches per step: emulated ${emu.dispatchesPerStep}, native ${nat.dispatchesPerStep}`);
    console.log(`  loss scales: emulated ${emu.scales.join(',')}, native ${nat.scales.join(',')}`);
    console.log(`  native vs emulated, largest relative difference: ${fmt(compareTraces(emu, nat))}`);
    console.log(`  baseline, emulated on wasm vs on webgpu:         ${fmt(compareTraces(wasm, emu))}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
