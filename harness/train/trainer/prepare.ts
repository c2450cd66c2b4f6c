// The prepare phase of a training run: the data (windows and the epoch batch order), where the
// weights start from (this run's last checkpoint, stage 1's pruned one, or init), the
// worker pool of off-thread rank determinations, and the model with its MLP activation and
// the parameters AdamW decays. Each check here is a user's mistake in the
// run config and fails before any training.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { resolveActivation, type RunConfig } from '../../contract/config.ts';
import { UserError } from '../../contract/errors.ts';
import { DamagedCheckpointError, readCheckpoint, type LoadedCheckpoint } from '../checkpoint.ts';
import { loadCorpus } from '../data/corpus.ts';
import { TokenWindows } from '../data/windows.ts';
import { SpectrumPool } from '../inrank/spectrum-pool.ts';
import { GPT, type NamedParam } from '../model/gpt.ts';
import { linearFactoryFor } from '../model/linears.ts';
import { withEmbeddingDecay } from '../optim/param-groups.ts';
import { EpochBatches } from './batches.ts';
import type { TrainerIO } from './io.ts';
import { LAST_CHECKPOINT, loadOwnCheckpoint, removeStaleTemps } from './resume-source.ts';

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
  /** The own checkpoint a resume loaded (last.ckpt, or prev.ckpt when last.ckpt was damaged). */
  resumedPath: string | null;
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

/**
 * Stage 1's pruned checkpoint, for a stage 2 that has none of its own. Missing or damaged, the
 * stage 2 cannot start: one line that names the file and the stage-1 run folder to rerun (a
 * rerun of the sweep reruns that stage 1 first: harness/schedule/handover-check.ts).
 */
function loadStage1(cfg: RunConfig, io: Pick<TrainerIO, 'emit' | 'log'>): LoadedCheckpoint {
  const from = cfg.stage.from!;
  const rerun = `rerun stage 1 (${dirname(from)}): npm run sweep reruns it before this stage 2, or fix stage.from`;
  if (!existsSync(from)) throw new UserError(`stage 2: the stage-1 checkpoint ${from} does not exist; ${rerun}`);
  let ck: LoadedCheckpoint;
  try {
    ck = readCheckpoint(from);
  } catch (err) {
    if (err instanceof DamagedCheckpointError) throw new UserError(`stage 2: the stage-1 checkpoint ${from} is damaged (${err.why}); ${rerun}`);
    throw err;
  }
  if (!ck.header.pruned || !ck.header.ranks) throw new UserError(`stage 2: ${from} is not a pruned stage-1 checkpoint (it has no pruned ranks)`);
  if (!sameModelSize(ck.header.model, cfg.model)) {
    throw new UserError(`stage 2: ${from} is for a model with ${describeSize(ck.header.model)}; this run has ${describeSize(cfg.model)}`);
  }
  if (ck.unverified) io.emit({ type: 'notice', message: `${from} was written before checkpoints carried checksums: loaded without verification` });
  return ck;
}

/**
 * Where the run starts: its own newest checkpoint that verifies (a resume), else for a stage 2
 * stage 1's pruned checkpoint, else initialisation. A stage 2 with a checkpoint of its own never
 * needs stage 1's any more.
 */
export function findStartingPoint(cfg: RunConfig, io: Pick<TrainerIO, 'emit' | 'log'>): StartingPoint {
  const lastPath = join(cfg.outDir, LAST_CHECKPOINT);
  removeStaleTemps(cfg.outDir, io.log);
  const stage2 = cfg.stage.kind === 'stage2';
  const fallback = stage2 ? `the stage-1 checkpoint ${cfg.stage.from}` : 'scratch (step 0)';
  const own = cfg.resume ? loadOwnCheckpoint(cfg.outDir, io, fallback) : null;
  const resumed = own?.loaded ?? null;
  if (own && !sameModelSize(own.loaded.header.model, cfg.model)) {
    throw new UserError(`--resume: ${own.path} is for a model with ${describeSize(own.loaded.header.model)}; this run has ${describeSize(cfg.model)}`);
  }
  const source = resumed ?? (stage2 ? loadStage1(cfg, io) : null);
  return {
    lastPath,
    resumedPath: own?.path ?? null,
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
