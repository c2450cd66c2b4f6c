// The trainer's step on a device backend (webgpu: no synchronous read-back): forward and backward
// on the device, one read of the loss and the global norm, AdamW; in fp32, or in fp16 with the
// trainer's dynamic loss scaling (session.ts). For the benchmark scripts that time or profile
// steps there (bench-device.ts, bench-inrank-speedup.ts --backend webgpu, bench-webgpu-kernels.ts,
// the device kit's figures).
import * as tf from '@tensorflow/tfjs-core';
import { parseRunConfig, type ModelConfig } from '../../harness/contract/config.ts';
import { GPT } from '../../harness/train/model/gpt.ts';
import type { LinearFactory, Precision } from '../../harness/train/model/linear.ts';
import { AdamW, clipCoefficient } from '../../harness/train/optim/adamw.ts';
import { fp32, precisionOf } from '../../harness/train/precision/index.ts';
import { LossScaler } from '../../harness/train/precision/scaler.ts';
import { accumulate, readStepScalars, runMicroBatchOnDevice, smallestOf } from '../../harness/train/trainer/micro-batch.ts';
import { streamKey, uniformAt } from '../../harness/train/ops/random.ts';

/** How a step trains: its precision, and the loss scaler of an fp16 run (null in fp32). */
export interface StepPrecision {
  precision: Precision;
  scaler: LossScaler | null;
}

const FP32_STEP: StepPrecision = { precision: fp32, scaler: null };

/** fp32, or fp16 (native half where the device has it) with the trainer's default scaler settings. */
export function stepPrecision(fp16: boolean): StepPrecision {
  if (!fp16) return FP32_STEP;
  const p = parseRunConfig({ precision: { kind: 'fp16' } }).precision;
  return { precision: precisionOf('fp16'), scaler: new LossScaler(p.initScale, p.growthInterval) };
}

/** One step of `model` on pseudo-random tokens of stream `step`; returns the loss. A step whose scaled gradients overflow is skipped, as the trainer does. */
export async function deviceTrainStep(model: GPT, optim: AdamW, cfg: ModelConfig, batch: number, step: number, how: StepPrecision = FP32_STEP): Promise<number> {
  const tokens = batch * cfg.context;
  const ids = Int32Array.from({ length: tokens + 1 }, (_, i) => Math.floor(uniformAt(streamKey(7, step), i) * cfg.vocabSize));
  const acc = new Map<string, tf.Tensor>();
  const scale = how.scaler?.scale ?? 1;
  const opts = { training: true, dropout: { p: cfg.dropout, seed: 1113, step, micro: 0 }, precision: how.precision };
  const r = await runMicroBatchOnDevice(model, ids.subarray(0, tokens), ids.subarray(1), batch, opts, scale);
  accumulate(acc, r.grads);
  const read = await readStepScalars([r.loss], acc);
  const skipped = how.scaler ? how.scaler.update(Number.isFinite(read.scaledNorm)) : false;
  if (!skipped) optim.step(acc, 1e-4, clipCoefficient(read.scaledNorm / scale, 1) / scale);
  tf.dispose([...acc.values()]);
  // Wait for the update, as the next step's read would; the device's queue runs in order, so the
  // smallest moment will do (the embedding's is 154 MB at GPT-2's shape).
  await smallestOf(optim.m.values())!.data();
  return read.losses[0]!;
}

export interface DeviceStepper {
  model: GPT;
  tokens: number;
  /** Runs one step; resolves to its wall time in ms (the step ends with a read, so the GPU is done). */
  step(): Promise<number>;
  /** The fp16 loss scale (1 in fp32). */
  lossScale(): number;
  dispose(): void;
}

/** A model and its optimizer stepping with deviceTrainStep (same token stream for every model). */
export function makeDeviceStepper(cfg: ModelConfig, batch: number, linears: LinearFactory, fp16 = false): DeviceStepper {
  const model = new GPT(cfg, 1113, linears);
  const optim = new AdamW(model.params(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  const how = stepPrecision(fp16);
  let n = 0;
  return {
    model,
    tokens: batch * cfg.context,
    step: async () => {
      const t0 = performance.now();
      await deviceTrainStep(model, optim, cfg, batch, n++, how);
      return performance.now() - t0;
    },
    lossScale: () => how.scaler?.scale ?? 1,
    dispose: () => {
      optim.dispose();
      model.dispose();
    },
  };
}

/** Mean wall ms and compute dispatches per step over `steps` steps. */
export async function timeDeviceSteps(step: () => Promise<unknown>, steps: number, dispatches: () => number): Promise<{ ms: number; dispatches: number }> {
  const d0 = dispatches();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await step();
  return { ms: (performance.now() - t0) / steps, dispatches: (dispatches() - d0) / steps };
}
