// Picks the MLP linear layer for a run's method: full -> dense; fixed / inrank -> the low-rank
// layer of harness/train/inrank (loaded lazily so a dense run never needs it).
import { maxRankOf, type RunConfig } from '../config.ts';
import type { LinearFactory, LinearLayer } from './linear.ts';
import { DenseLinear } from './dense-linear.ts';
import { streamKey, stringId } from '../ops/random.ts';

/** The low-rank layer's constructor options (harness/train/inrank/lowrank-linear.ts). */
export interface LowRankOptions {
  inFeatures: number;
  outFeatures: number;
  maxRank: number;
  initModes: number;
  bufferModes: number;
  determineRank: boolean;
  explainedRatio: number;
  warmupIter: number;
  gapIter: number;
  microBatchesPerTick: number;
  initScale: number;
  seed: number;
  /** The cap rank() reports; a stage-2 layer built at its pruned rank reports its stage-1 cap. */
  nominalMaxRank?: number;
}

/** What the trainer needs of a low-rank layer beyond LinearLayer. */
export interface LowRankLayer extends LinearLayer {
  currentModes: number;
  pruned(): { A: import('@tensorflow/tfjs-core').Tensor2D; B: import('@tensorflow/tfjs-core').Tensor2D; bias: import('@tensorflow/tfjs-core').Tensor1D; rank: number };
}

type LowRankCtor = new (opts: LowRankOptions) => LowRankLayer;

async function loadLowRank(): Promise<LowRankCtor> {
  const mod = (await import('../inrank/lowrank-linear.ts')) as { LowRankLinear: LowRankCtor };
  return mod.LowRankLinear;
}

export function denseFactory(): LinearFactory {
  return (spec) =>
    new DenseLinear({
      inFeatures: spec.inFeatures,
      outFeatures: spec.outFeatures,
      initStd: spec.initStd,
      initKey: streamKey(spec.seed, stringId(`${spec.layerName}.weight`)),
    });
}

/**
 * The factory for cfg.method. fixedRanks (stage 2): every layer is low-rank at exactly its
 * recorded rank, no buffer, no determination.
 */
export async function linearFactoryFor(
  cfg: RunConfig,
  fixedRanks?: Record<string, number>,
  nominalMaxRanks?: Record<string, number>,
): Promise<LinearFactory> {
  if (cfg.method === 'full' && !fixedRanks) return denseFactory();
  const LowRankLinear = await loadLowRank();
  const ir = cfg.inrank;
  return (spec) => {
    const common = {
      inFeatures: spec.inFeatures,
      outFeatures: spec.outFeatures,
      explainedRatio: ir.explainedRatio,
      warmupIter: ir.warmupIter,
      gapIter: ir.gapIter,
      microBatchesPerTick: ir.microBatchesPerTick,
      initScale: ir.initScale,
      seed: streamKey(spec.seed, stringId(spec.layerName)),
    };
    if (fixedRanks) {
      const rank = fixedRanks[spec.layerName];
      if (rank === undefined) throw new Error(`no recorded rank for ${spec.layerName}`);
      const nominalMaxRank = nominalMaxRanks?.[spec.layerName] ?? rank;
      return new LowRankLinear({ ...common, maxRank: rank, initModes: rank, bufferModes: 0, determineRank: false, nominalMaxRank });
    }
    const maxRank = maxRankOf(spec.inFeatures, spec.outFeatures);
    if (cfg.method === 'fixed') {
      return new LowRankLinear({ ...common, maxRank, initModes: Math.min(ir.initModes, maxRank), bufferModes: 0, determineRank: false });
    }
    return new LowRankLinear({ ...common, maxRank, initModes: ir.initModes, bufferModes: ir.bufferModes, determineRank: true });
  };
}
