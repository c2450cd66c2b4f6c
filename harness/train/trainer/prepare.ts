// The prepare phase of a training run: the data (windows and the epoch batch order), where the
// weights start from (this run's last checkpoint, stage 1's pruned one, or init), the
// worker pool of off-thread rank determinations, and the model with its MLP activation and
// the parameters AdamW decays. Each check here is a user's mistake in the
// run config and fails before any training.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveActivation, type RunConfig } from '../../contract/config.ts';
import { UserError } from '../../contract/errors.ts';
import { readCheckpoint, type LoadedCheckpoint } from '../checkpoint.ts';
import { loadCorpus } from '../data/corpus.ts';
import { TokenWindows } from '../data/windows.ts';
import { SpectrumPool } from '../inrank/spectrum-pool.ts';
import { GPT, type NamedParam } from '../model/gpt.ts';
import { linearFactoryFor } from '../model/linears.ts';
import { withEmbeddingDecay } from '../optim/param-groups.ts';
import { EpochBatches } from './batches.ts';
import type { TrainerIO } from './io.ts';

/** The three splits as context windows, and the training split's batch order. */
export interface RunData {
  train: TokenWindows;
  valid: TokenWindows;
  test: TokenWindows;
  batches: EpochBatches;
}

/** Where the weights (and the training state) come from. */
export interface StartingPoint {
  /** This run's own checkpoint, written periodically, on interrupt and at the end. */
  lastPath: string;
  /** The checkpoint loaded, if any: `resumed` (this run's last) or stage 1's pruned one. */
  source: LoadedCheckpoint | null;
  isResume: boolean;
  /** Stage 2: the pruned per-layer ranks and their nominal caps. */
  fixedRanks: Record<string, number> | undefined;
  nominalMax: Record<string, number> | undefined;
}

type ModelSize = RunConfig['model'];
const sameModelSize = (a: ModelSize, b: ModelSize) =>
  a.nEmbd === b.nEmbd && a.nHead === b.nHead && a.nLayer === b.nLayer && a.context === b.context && a.vocabSize === b.vocabSize;
const describeSize = (m: ModelSize) => `n_embd ${m.nEmbd}, n_head ${m.nHead}, n_layer ${m.nLayer}, context ${m.context}, vocab ${m.vocabSize}`;

/** Loads the corpus; the live progress view shows 'loading data' meanwhile (it can take a while). */
export async function prepareData(cfg: RunConfig, io: Pick<TrainerIO, 'emit' | 'log'>): Promise<RunData> {
  io.emit({ type: 'phase', phase: 'loading data' });
  const corpus = await loadCorpus(cfg.data, io.log);
  if (corpus.vocabSize !== cfg.model.vocabSize) {
    throw new UserError(
      `the corpus has a vocabulary of ${corpus.vocabSize} tokens but model.vocabSize is ${cfg.model.vocabSize}; set model.vocabSize to ${corpus.vocabSize} (or data.vocabTopK to match)`,
    );
  }
  const context = cfg.model.context;
  const train = new TokenWindows(corpus.train, context);
  const batches = new EpochBatches(train.count, cfg.train.globalBatch, cfg.train.seed);
  if (batches.stepsPerEpoch === 0) {
    throw new UserError(`the training split has ${train.count} windows of ${context + 1} tokens, fewer than train.globalBatch (${cfg.train.globalBatch}); lower train.globalBatch or model.context`);
  }
  return { train, valid: new TokenWindows(corpus.valid, context), test: new TokenWindows(corpus.test, context), batches };
}

function loadStage1(cfg: RunConfig): LoadedCheckpoint {
  const from = cfg.stage.from!;
  if (!existsSync(from)) throw new UserError(`stage 2: the stage-1 checkpoint ${from} does not exist; run stage 1 first or fix stage.from`);
  const ck = readCheckpoint(from);
  if (!ck.header.pruned || !ck.header.ranks) throw new UserError(`stage 2: ${from} is not a pruned stage-1 checkpoint (it has no pruned ranks)`);
  if (!sameModelSize(ck.header.model, cfg.model)) {
    throw new UserError(`stage 2: ${from} is for a model with ${describeSize(ck.header.model)}; this run has ${describeSize(cfg.model)}`);
  }
  return ck;
}

export function findStartingPoint(cfg: RunConfig): StartingPoint {
  const lastPath = join(cfg.outDir, 'last.ckpt');
  const resumed = cfg.resume && existsSync(lastPath) ? readCheckpoint(lastPath) : null;
  if (resumed && !sameModelSize(resumed.header.model, cfg.model)) {
    throw new UserError(`--resume: ${lastPath} is for a model with ${describeSize(resumed.header.model)}; this run has ${describeSize(cfg.model)}`);
  }
  const stage1 = cfg.stage.kind === 'stage2' ? loadStage1(cfg) : null;
  const source = resumed ?? stage1;
  const stage2 = cfg.stage.kind === 'stage2';
  return {
    lastPath,
    source,
    isResume: source !== null && source === resumed,
    fixedRanks: stage2 ? (source!.header.ranks ?? undefined) : undefined,
    nominalMax: stage2 ? (source!.header.maxRanks ?? undefined) : undefined,
  };
}

/** Off-thread rank determinations (inrank.determinationLag > 0) run in a pool of workers. */
export async function startSpectrumPool(cfg: RunConfig, log: (line: string) => void): Promise<SpectrumPool | null> {
  const offThread = cfg.method === 'inrank' && cfg.stage.kind !== 'stage2' && cfg.inrank.determinationLag > 0;
  if (!offThread) return null;
  const pool = await SpectrumPool.start(cfg.inrank.determinationWorkers);
  const pinned = pool.size > 1 ? '; OpenBLAS at 1 thread' : '';
  log(`rank determinations on ${pool.size} worker thread(s) (float64 work in ${pool.linalgPath}${pinned}), applied ${cfg.inrank.determinationLag} tick(s) after measurement`);
  return pool;
}

/**
 * The model at the run's MLP activation ('reference' resolved for the method), and the
 * parameters AdamW gets with the embeddings' decay set by train.decayEmbeddings.
 */
export function buildModel(
  cfg: RunConfig,
  start: StartingPoint,
  spectrumPool: SpectrumPool | null,
  log: (line: string) => void,
): { model: GPT; params: NamedParam[] } {
  const activation = resolveActivation(cfg.model.activation, cfg.method);
  const model = new GPT(cfg.model, cfg.train.seed, linearFactoryFor(cfg, start.fixedRanks, start.nominalMax, spectrumPool), { activation });
  const counting = cfg.inrank.countEvalPasses ? 'counts evaluation passes too' : 'counts training passes only';
  log(`MLP activation ${activation}; embeddings ${cfg.train.decayEmbeddings ? '' : 'not '}decayed; InRank counter ${counting}`);
  return { model, params: withEmbeddingDecay(model.params(), cfg.train.decayEmbeddings) };
}
