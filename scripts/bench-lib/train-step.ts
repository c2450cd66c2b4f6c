// One optimizer step of the trainer's own code (forward, loss, backward, global norm, AdamW),
// timed by part, for the benchmark scripts that compare models or paths in one run.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../harness/contract/config.ts';
import { GPT } from '../../harness/train/model/gpt.ts';
import type { LinearFactory } from '../../harness/train/model/linear.ts';
import { AdamW, clipCoefficient } from '../../harness/train/optim/adamw.ts';
import { precisionOf } from '../../harness/train/precision/index.ts';
import { runMicroBatch, smallestOf } from '../../harness/train/trainer/micro-batch.ts';
import { streamKey, uniformAt } from '../../harness/train/ops/random.ts';

export interface StepTimes {
  fwd: number;
  bwd: number;
  opt: number;
  step: number;
}

export interface Stepper {
  model: GPT;
  tokens: number;
  /** Runs one step on a fresh pseudo-random micro-batch; returns its times in ms. */
  step(): StepTimes;
  dispose(): void;
}

/** A model and its optimizer, stepping on deterministic random tokens (same stream for every model). */
export function makeStepper(cfg: ModelConfig, batch: number, linears: LinearFactory, fp16 = false): Stepper {
  const model = new GPT(cfg, 1113, linears);
  const optim = new AdamW(model.params(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  const precision = precisionOf(fp16 ? 'fp16' : 'fp32');
  const tokens = batch * cfg.context;
  const ids = (step: number, shift: number) =>
    Int32Array.from({ length: tokens }, (_, i) => Math.floor(uniformAt(streamKey(7, step), i + shift) * cfg.vocabSize));
  let n = 0;
  const step = (): StepTimes => {
    const t0 = performance.now();
    const micro = runMicroBatch(model, ids(n, 0), ids(n, 1), batch,
      { training: true, dropout: { p: cfg.dropout, seed: 1113, step: n, micro: 0 }, precision }, 1);
    const t2 = t0 + micro.forwardMs + micro.backwardMs;
    const norm = AdamW.globalNorm(micro.grads);
    optim.step(micro.grads, 1e-4, clipCoefficient(norm, 1));
    smallestOf(optim.m.values())!.dataSync(); // waits for the update, reading a few floats
    tf.dispose([...micro.grads.values()]);
    const t3 = performance.now();
    n++;
    return { fwd: micro.forwardMs, bwd: micro.backwardMs, opt: t3 - t2, step: t3 - t0 };
  };
  return {
    model, tokens, step,
    dispose: () => {
      optim.dispose();
      model.dispose();
    },
  };
}

/** Mean times of `steps` steps. */
export function timeSteps(stepper: Stepper, steps: number): StepTimes {
  const sum: StepTimes = { fwd: 0, bwd: 0, opt: 0, step: 0 };
  for (let s = 0; s < steps; s++) {
    const t = stepper.step();
    sum.fwd += t.fwd;
    sum.bwd += t.bwd;
    sum.opt += t.opt;
    sum.step += t.step;
  }
  return { fwd: sum.fwd / steps, bwd: sum.bwd / steps, opt: sum.opt / steps, step: sum.step / steps };
}
