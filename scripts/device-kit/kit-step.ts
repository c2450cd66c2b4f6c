// One dense model stepping as the trainer steps on a device (bench-lib/device-step.ts: one
// read-back, AdamW), in fp32 or fp16 with the trainer's dynamic loss scaling, for figures.ts:
// what it prints about the model and its fp16 path, and its dispatch count.
import * as tf from '@tensorflow/tfjs-core';
import { modelSchema } from '../../harness/contract/config.ts';
import { denseFactory } from '../../harness/train/model/linears.ts';
import { fp16PathFor } from '../../harness/train/precision/index.ts';
import { makeDeviceStepper } from '../bench-lib/device-step.ts';
import { countDispatches } from '../bench-lib/gpu-profile.ts';
import { BENCH_SHAPES, type BenchModel } from '../bench-lib/shapes.ts';

export interface KitStepper {
  label: string;
  params: number;
  tokens: number;
  flopsPerToken: number;
  fp16Path: string | null;
  step(): Promise<void>;
  dispatches(): number;
  lossScale(): number;
  dispose(): void;
}

export function makeKitStepper(which: BenchModel, fp16: boolean): KitStepper {
  const sh = BENCH_SHAPES[which];
  const cfg = modelSchema.parse({ name: which, ...sh.model });
  const s = makeDeviceStepper(cfg, sh.batch, denseFactory(), fp16);
  const shaderF16 = (tf.backend() as { device?: { features?: { has(f: string): boolean } } }).device?.features?.has('shader-f16') ?? false;
  return {
    label: sh.label, params: s.model.paramCounts().total, tokens: s.tokens, flopsPerToken: s.model.flopsPerToken(),
    fp16Path: fp16PathFor(fp16 ? 'fp16' : 'fp32', shaderF16),
    step: async () => {
      await s.step();
    },
    dispatches: countDispatches(),
    lossScale: s.lossScale,
    dispose: s.dispose,
  };
}
