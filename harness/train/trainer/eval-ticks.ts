// Evaluation passes on the InRank counter (inrank.countEvalPasses). The reference's layer
// counts every forward pass, evaluation included, on each of its devices. Under its Lightning
// setup (pytorch-lightning 1.6, DDP, the datamodule's batch_size_eval = 2 x batch_size):
// - fit starts with Lightning's sanity check: num_sanity_val_steps = 2 validation batches per
//   device (fewer if the validation set has fewer), before the first training batch;
// - every validation pass: each device gets ceil(N / devices) of the N windows (the
//   DistributedSampler, no shuffling, pads by wrapping) in batches of batch_size_eval, so one
//   pass is ceil(N / (devices x batch_size_eval)) forward passes per device; batch t on every
//   device together covers windows [t x devices x bs, (t + 1) x devices x bs) of the padded list;
// - the test run after fit, before stage 1 prunes: the same arithmetic over the test windows.
// One tick of this harness's counter stands for one forward pass on every device at once
// (inrank.microBatchesPerTick = devices), so an eval pass is that many ticks, each before the
// forward of its block of windows, as the reference decides before computing.
import type { RunConfig } from '../../contract/config.ts';
import type { RankEvent } from '../../contract/protocol.ts';
import type { GPT } from '../model/gpt.ts';

/** Lightning's num_sanity_val_steps default: validation batches per device before training. */
export const SANITY_VAL_BATCHES = 2;
/** The reference's datamodule: batch_size_eval = 2 x batch_size (per device). */
export const EVAL_BATCH_FACTOR = 2;

/** Windows one eval tick covers: one eval batch on each device. */
export function windowsPerEvalTick(microBatch: number, devices: number): number {
  return EVAL_BATCH_FACTOR * microBatch * devices;
}

/** Ticks of one eval pass over `windows` windows: ceil(ceil(windows / devices) / bs) = ceil(windows / (devices bs)). */
export function evalPassTicks(windows: number, microBatch: number, devices: number): number {
  return Math.ceil(windows / windowsPerEvalTick(microBatch, devices));
}

/** Ticks of the sanity check: 2 validation batches per device, or the whole pass if shorter. */
export function sanityTicks(validWindows: number, microBatch: number, devices: number): number {
  return Math.min(SANITY_VAL_BATCHES, evalPassTicks(validWindows, microBatch, devices));
}

/**
 * Counts `ticks` eval forward passes on every MLP layer that counts them; emits the
 * determinations. Async: a due determination reads its factors back (awaited on WebGPU).
 */
export async function countEvalTicks(model: GPT, ticks: number, step: number, emit: (ev: RankEvent) => void): Promise<void> {
  if (ticks === 0) return;
  for (const { name, layer } of model.mlpLayers()) {
    for (const ev of (await layer.countForwardPasses?.(ticks, step, name)) ?? []) emit(ev);
  }
}

/** What the trainer calls around evaluation; everything is a no-op when the run does not count eval passes. */
export interface EvalTicker {
  /** The sanity check before training: counts its ticks (its losses are discarded, so no forward runs). */
  sanityCheck(validWindows: number, step: number): Promise<void>;
  /**
   * Called before queuing the forward of the chunk of windows starting at `start`: a tick when a
   * new block begins. Awaited before that forward, so the forward runs at the rank decided.
   */
  beforeEvalChunk(start: number, step: number): Promise<void>;
}

export function evalTicker(cfg: RunConfig, model: GPT, emit: (ev: RankEvent) => void): EvalTicker {
  const counts = cfg.method === 'inrank' && cfg.stage.kind !== 'stage2' && cfg.inrank.countEvalPasses;
  const devices = cfg.inrank.microBatchesPerTick;
  const micro = cfg.train.microBatch;
  const perTick = windowsPerEvalTick(micro, devices);
  return {
    async sanityCheck(validWindows, step) {
      if (counts) await countEvalTicks(model, sanityTicks(validWindows, micro, devices), step, emit);
    },
    async beforeEvalChunk(start, step) {
      if (counts && start % perTick === 0) await countEvalTicks(model, 1, step, emit);
    },
  };
}
