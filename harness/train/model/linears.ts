// Picks the MLP linear layer for a run's method: full -> dense; fixed / inrank -> the low-rank
// layer of harness/train/inrank.
import { maxRankOf, type RunConfig } from '../../contract/config.ts';
import type { LinearFactory } from './linear.ts';
import type { SpectrumPool } from '../inrank/spectrum-pool.ts';
import { DenseLinear } from './dense-linear.ts';
import { LowRankLinear } from '../inrank/lowrank-linear.ts';
import { streamKey, stringId } from '../ops/random.ts';

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
 * recorded rank, no buffer, no determination. spectrumPool: the worker threads InRank layers
 * hand determinations to when cfg.inrank.determinationLag > 0.
 */
export function linearFactoryFor(
  cfg: RunConfig,
  fixedRanks?: Record<string, number>,
  nominalMaxRanks?: Record<string, number>,
  spectrumPool: SpectrumPool | null = null,
): LinearFactory {
  if (cfg.method === 'full' && !fixedRanks) return denseFactory();
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
    return new LowRankLinear({
      ...common, maxRank, initModes: ir.initModes, bufferModes: ir.bufferModes, determineRank: true,
      determinationLag: ir.determinationLag, spectrumPool,
    });
  };
}
