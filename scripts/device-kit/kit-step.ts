// One model stepping as the trainer steps on a device (runMicroBatchOnDevice, one read-back,
// AdamW), in fp32 or fp16 with the trainer's dynamic loss scaling (session.ts), for figures.ts.
// bench-lib/device-step.ts does the fp32 step only; this adds the fp16 path the issue compares
// with PyTorch autocast, without changing that shared helper.
import * as tf from '@tensorflow/tfjs-core';
import { modelSchema, parseRunConfig, type ModelConfig } from '../../harness/contract/config.ts';
import { GPT } from '../../harness/train/model/gpt.ts';
import { denseFactory } from '../../harness/train/model/linears.ts';
import { AdamW, clipCoefficient } from '../../harness/train/optim/adamw.ts';
import { fp16PathFor, precisionOf } from '../../harness/train/precision/index.ts';
import { LossScaler } from '../../harness/train/precision/scaler.ts';
import { accumulate, readStepScalars, runMicroBatchOnDevice } from '../../harness/train/trainer/micro-batch.ts';
import { streamKey, uniformAt } from '../../harness/train/ops/random.ts';
import { countDispatches } from '../bench-lib/gpu-profile.ts';
import type { BenchModel } from '../bench-device.ts';
import type { PeerShape } from '../bench-lib/peer.ts';

interface Shape { model: Partial<ModelConfig>; batch: number; label: string; peer: PeerShape }

const shape = (nEmbd: number, nHead: number, nLayer: number, context: number, vocab: number, batch: number, label: string): Shape => ({
  model: { nEmbd, nHead, nLayer, context, vocabSize: vocab }, batch, label,
  peer: { nEmbd, nHead, nLayer, context, batch, vocab },
});

/** bench-device.ts's shapes (the GPT-2 124M at context 1024, micro-batch 8). */
export const SHAPES: Record<BenchModel, Shape> = {
  gpt2: shape(768, 12, 12, 1024, 50257, 8, 'GPT-2 124M: n_embd 768, 12 layers, context 1024, micro-batch 8, vocab 50257'),
  bench: shape(256, 4, 4, 128, 4096, 8, 'bench: n_embd 256, 4 layers, context 128, micro-batch 8, vocab 4096'),
  tiny: shape(64, 2, 2, 32, 512, 2, 'tiny: n_embd 64, 2 layers, context 32, micro-batch 2, vocab 512'),
};

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
  const sh = SHAPES[which];
  const cfg = modelSchema.parse({ name: which, ...sh.model });
  const model = new GPT(cfg, 1113, denseFactory());
  const optim = new AdamW(model.params(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  const p = parseRunConfig({ precision: { kind: 'fp16' } }).precision; // the trainer's default scaler settings
  const scaler = new LossScaler(p.initScale, p.growthInterval);
  const precision = precisionOf(fp16 ? 'fp16' : 'fp32');
  const shaderF16 = (tf.backend() as { device?: { features?: { has(f: string): boolean } } }).device?.features?.has('shader-f16') ?? false;
  let n = 0;
  return {
    label: sh.label, params: model.paramCounts().total, tokens: sh.batch * cfg.context, flopsPerToken: model.flopsPerToken(),
    fp16Path: fp16PathFor(fp16 ? 'fp16' : 'fp32', shaderF16),
    step: async () => {
      const tokens = sh.batch * cfg.context;
      const ids = Int32Array.from({ length: tokens + 1 }, (_, i) => Math.floor(uniformAt(streamKey(7, n), i) * cfg.vocabSize));
      const scale = fp16 ? scaler.scale : 1;
      const opts = { training: true, dropout: { p: cfg.dropout, seed: 1113, step: n, micro: 0 }, precision };
      const r = await runMicroBatchOnDevice(model, ids.subarray(0, tokens), ids.subarray(1), sh.batch, opts, scale);
      const acc = new Map<string, tf.Tensor>();
      accumulate(acc, r.grads);
      const read = await readStepScalars([r.loss], acc);
      const skipped = fp16 ? scaler.update(Number.isFinite(read.scaledNorm)) : false;
      if (!skipped) optim.step(acc, 1e-4, clipCoefficient(read.scaledNorm / scale, 1) / scale);
      tf.dispose([...acc.values()]);
      await optim.m.get('wte')!.data(); // wait for the update, as the next step's read would
      n++;
    },
    dispatches: countDispatches(),
    lossScale: () => (fp16 ? scaler.scale : 1),
    dispose: () => {
      optim.dispose();
      model.dispose();
    },
  };
}
