// The trainer's step on a device backend (webgpu: no synchronous read-back): forward and backward
// on the device, one read of the loss and the global norm, AdamW; for the benchmark scripts that
// time or profile steps there (bench-device.ts, bench-inrank-speedup.ts --backend webgpu).
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../harness/contract/config.ts';
import { GPT } from '../../harness/train/model/gpt.ts';
import type { LinearFactory } from '../../harness/train/model/linear.ts';
import { AdamW, clipCoefficient } from '../../harness/train/optim/adamw.ts';
import { precisionOf } from '../../harness/train/precision/index.ts';
import { accumulate, readStepScalars, runMicroBatchOnDevice } from '../../harness/train/trainer/micro-batch.ts';
import { streamKey, uniformAt } from '../../harness/train/ops/random.ts';

/** One step of `model` on pseudo-random tokens of stream `step`; returns the loss. */
export async function deviceTrainStep(model: GPT, optim: AdamW, cfg: ModelConfig, batch: number, step: number): Promise<number> {
  const tokens = batch * cfg.context;
  const ids = Int32Array.from({ length: tokens + 1 }, (_, i) => Math.floor(uniformAt(streamKey(7, step), i) * cfg.vocabSize));
  const acc = new Map<string, tf.Tensor>();
  const opts = { training: true, dropout: { p: cfg.dropout, seed: 1113, step, micro: 0 }, precision: precisionOf('fp32') };
  const r = await runMicroBatchOnDevice(model, ids.subarray(0, tokens), ids.subarray(1), batch, opts, 1);
  accumulate(acc, r.grads);
  const read = await readStepScalars([r.loss], acc);
  optim.step(acc, 1e-4, clipCoefficient(read.scaledNorm, 1));
  tf.dispose([...acc.values()]);
  await optim.m.get('wte')!.data(); // wait for the update, as the next step's read would
  return read.losses[0]!;
}

export interface DeviceStepper {
  model: GPT;
  tokens: number;
  /** Runs one step; resolves to its wall time in ms (the step ends with a read, so the GPU is done). */
  step(): Promise<number>;
  dispose(): void;
}

/** A model and its optimizer stepping with deviceTrainStep (same token stream for every model). */
export function makeDeviceStepper(cfg: ModelConfig, batch: number, linears: LinearFactory): DeviceStepper {
  const model = new GPT(cfg, 1113, linears);
  const optim = new AdamW(model.params(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  let n = 0;
  return {
    model,
    tokens: batch * cfg.context,
    step: async () => {
      const t0 = performance.now();
      await deviceTrainStep(model, optim, cfg, batch, n++);
      return performance.now() - t0;
    },
    dispose: () => {
      optim.dispose();
      model.dispose();
    },
  };
}
