// Expected cost of a run: analytic training FLOPs, used only to order runs (longest first) and
// to show a dry run's size. The trainer reports its own exact FLOPs per token.
import { maxRankOf, type RunConfig } from '../contract/config.ts';
import { lowRankMlpCost, trainingFlopsPerToken as modelFlopsPerToken } from '../contract/model-cost.ts';

/**
 * Approximate training-split sizes in GPT-2 tokens, to estimate steps per epoch when a run is
 * bounded by epochs rather than maxSteps. WikiText-103: ~103M words at ~1.13 BPE tokens per word;
 * WikiText-2: ~2.1M words; Brown: ~1.16M words, ~90% in the train split. Estimates, not counts.
 */
export const TRAIN_TOKENS_ESTIMATE: Record<RunConfig['data']['corpus'], number> = {
  'wikitext-103': 117_000_000,
  'wikitext-2': 2_400_000,
  brown: 1_350_000,
};

/** Optimizer steps the whole schedule spans (stage 1 + stage 2 together): min(maxSteps, maxEpochs x steps per epoch). */
export function scheduleSteps(config: RunConfig): number {
  const tokensPerStep = config.train.globalBatch * config.model.context;
  const stepsPerEpoch = Math.max(1, Math.floor(TRAIN_TOKENS_ESTIMATE[config.data.corpus] / tokensPerStep));
  const byEpochs = config.train.maxEpochs * stepsPerEpoch;
  return config.train.maxSteps === null ? byEpochs : Math.min(config.train.maxSteps, byEpochs);
}

/** Steps this run itself trains: stage 1 stops after stage1Steps, stage 2 trains the rest. */
export function runSteps(config: RunConfig): number {
  const total = scheduleSteps(config);
  const stage1 = Math.min(config.stage.stage1Steps, total);
  if (config.stage.kind === 'stage1') return stage1;
  if (config.stage.kind === 'stage2') return Math.max(0, total - stage1);
  return total;
}

/**
 * The MLP rank a run trains at, for the estimate: fixed -> initModes; inrank -> what stage 1
 * starts with, initModes + bufferModes (the rank it ends at is only known after stage 1, so
 * stage 2 is estimated at the same rank); capped at max_rank. null = dense.
 */
export function mlpRankEstimate(config: RunConfig): number | null {
  const maxRank = maxRankOf(config.model.nEmbd, 4 * config.model.nEmbd);
  if (config.method === 'full') return null;
  if (config.method === 'fixed') return Math.min(config.inrank.initModes, maxRank);
  return Math.min(config.inrank.initModes + config.inrank.bufferModes, maxRank);
}

/** Training FLOPs per token at the estimated rank (contract/model-cost.ts: the trainer's own arithmetic). */
export function trainingFlopsPerToken(config: RunConfig): number {
  const rank = mlpRankEstimate(config);
  const { nEmbd, nLayer } = config.model;
  const mlp = rank === null ? undefined : Array.from({ length: nLayer }, () => lowRankMlpCost(nEmbd, rank, rank));
  return modelFlopsPerToken(config.model, mlp);
}

/** Expected training FLOPs of the run: FLOPs per token x tokens per step x the steps it trains. */
export function expectedCost(config: RunConfig): number {
  return trainingFlopsPerToken(config) * config.train.globalBatch * config.model.context * runSteps(config);
}
