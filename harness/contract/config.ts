// One run's configuration: what the trainer child reads, and what a sweep spec resolves to.
// Defaults are the paper's reference values (DESIGN.md); profiles scale them down.
import { z } from 'zod';
import { describeZodIssue, UserError } from './errors.ts';
import { safeNameSchema } from './names.ts';

export const MODEL_PRESETS = {
  gpt2: { nEmbd: 768, nHead: 12, nLayer: 12 },
  'gpt2-medium': { nEmbd: 1024, nHead: 16, nLayer: 24 },
  'gpt2-large': { nEmbd: 1280, nHead: 20, nLayer: 36 },
} as const;
export type ModelPreset = keyof typeof MODEL_PRESETS;

const positiveInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

export const activationChoices = ['reference', 'gelu-tanh', 'gelu-exact'] as const;
/** The GELU a model computes with, once 'reference' is resolved for a method. */
export type GeluKind = 'gelu-tanh' | 'gelu-exact';

export const modelSchema = z.strictObject({
  /** Display name of the size (a preset name or any label); the sizes below are what count. Part of run names: a safe word (names.ts). */
  name: safeNameSchema.default('gpt2'),
  nEmbd: positiveInt.default(768),
  nHead: positiveInt.default(12),
  nLayer: positiveInt.default(12),
  /** Context length (GPT-2's n_positions). */
  context: positiveInt.default(1024),
  /** At least 2: a one-token vocabulary has nothing to predict (and fails in the trainer, not here, if let through). */
  vocabSize: positiveInt.min(2, 'a vocabulary needs at least 2 tokens').default(50257),
  dropout: z.number().min(0).lt(1).default(0.1),
  initStd: z.number().positive().default(0.02),
  /** HF GPT-2's scale_attn_by_inverse_layer_idx, on in the paper's config. */
  scaleAttnByInverseLayerIdx: z.boolean().default(true),
  /**
   * The MLP's GELU. 'reference': what the paper's code uses for the method: the tanh
   * approximation for the full-rank baseline (HF GPT-2), exact erf for fixed rank and InRank
   * (the reference's own GPT-2 with its custom MLP, nn.GELU). See resolveActivation.
   */
  activation: z.enum(activationChoices).default('reference'),
});

export const inrankSchema = z.strictObject({
  initModes: positiveInt.default(2),
  bufferModes: nonNegInt.default(100),
  explainedRatio: z.number().gt(0).lt(1).default(0.9),
  /** Training forward passes (counter ticks) before the first rank determination. */
  warmupIter: nonNegInt.default(200),
  gapIter: positiveInt.default(25),
  initScale: z.number().positive().default(1),
  /**
   * Micro-batches per counter tick. The reference counts forward passes on each of its
   * devices in parallel; a single-device run reproducing an 8-device schedule sets 8.
   */
  microBatchesPerTick: positiveInt.default(1),
  /**
   * Counter ticks from measuring a spectrum to applying its rank. 0 is the reference (both at
   * the due tick, on the training thread); L > 0 (below gapIter) moves the float64 work of each
   * determination to worker threads and applies the rank L ticks later, deterministically.
   */
  determinationLag: nonNegInt.default(0),
  /** Worker threads for determinations when determinationLag > 0. Does not change results. */
  determinationWorkers: positiveInt.default(2),
  /**
   * The counter ticks on evaluation forward passes too, as the reference's layer does: the
   * sanity-check validation batches before training, every validation batch, and stage 1's test
   * run before pruning (inrank/eval-ticks.ts has the arithmetic). false counts training only.
   */
  countEvalPasses: z.boolean().default(true),
});

export const trainSchema = z.strictObject({
  lr: z.number().positive().default(6e-4),
  weightDecay: z.number().min(0).default(0.1),
  /**
   * Weight decay on the token and position embeddings (wte, wpe). The reference's parameter
   * grouping puts them in the no-decay group with biases and LayerNorm weights: false.
   */
  decayEmbeddings: z.boolean().default(false),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  /** Linear-warmup length in optimizer steps; null = one epoch's worth (the reference). */
  warmupSteps: nonNegInt.nullable().default(null),
  /** The schedule spans min(maxSteps, maxEpochs x steps per epoch) optimizer steps. */
  maxSteps: positiveInt.nullable().default(null),
  maxEpochs: positiveInt.default(100),
  globalBatch: positiveInt.default(512),
  microBatch: positiveInt.default(8),
  gradClip: z.number().positive().default(1.0),
  /** Validate every evalEvery optimizer steps (and at the end); evalBatches caps the valid windows used (null = all). */
  evalEvery: positiveInt.default(50),
  evalBatches: positiveInt.nullable().default(null),
  /**
   * Caps the test evaluations' windows at this many micro-batches; null (the reference, and the
   * default) tests on the whole split. For pipeline checks whose test split would cost more than their training.
   */
  testBatches: positiveInt.nullable().default(null),
  /** Early stopping: evaluations without a new best validation loss before stopping; null = off. */
  patience: positiveInt.nullable().default(5),
  /** Write a periodic checkpoint every this many optimizer steps (and always at the end or on a signal). */
  checkpointEvery: positiveInt.default(50),
  /** A training loss above this (or NaN / Inf) ends the run as diverged. */
  divergenceLoss: z.number().positive().default(20),
  seed: z.number().int().default(1113),
});

export const dataSchema = z.strictObject({
  corpus: z.enum(['brown', 'wikitext-103', 'wikitext-2']).default('brown'),
  /** Folder with wiki.{train,valid,test}.{raw,tokens}; required for the WikiText corpora. */
  dataDir: z.string().nullable().default(null),
  /** Where token-id caches live. */
  cacheDir: z.string().default('results/cache'),
  /** Keep the top-K training tokens and map the rest to one unknown id; null = full GPT-2 vocabulary. */
  vocabTopK: positiveInt.min(2, 'at least 2: K-1 kept tokens plus the unknown id (null keeps the full vocabulary)').nullable().default(null),
  /**
   * The data's content fingerprint (contract/data-fingerprint.ts), set by the sweep when it plans
   * the run: part of the run's id, and checked by the trainer against the files it reads. Absent
   * in configs stored before it existed and in hand-written ones (then nothing is checked).
   */
  fingerprint: z.string().regex(/^[0-9a-f]{32}$/).optional(),
});

export const precisionSchema = z.strictObject({
  kind: z.enum(['fp32', 'fp16']).default('fp32'),
  /** Dynamic loss scaling as torch.cuda.amp.GradScaler does (emulated fp16 only). */
  initScale: z.number().positive().default(65536),
  growthInterval: positiveInt.default(2000),
});

export const stageSchema = z.strictObject({
  /** single: one run to the end. stage1: InRank growth, then prune and stop. stage2: continue from a pruned stage-1 checkpoint. */
  kind: z.enum(['single', 'stage1', 'stage2']).default('single'),
  /** Optimizer steps of stage 1 (the reference: 130). */
  stage1Steps: positiveInt.default(130),
  /** stage2: the pruned checkpoint written by stage 1. */
  from: z.string().nullable().default(null),
  /** stage2: the reference slices the Adam moments to the pruned shapes; true starts them at zero instead. */
  resetMoments: z.boolean().default(false),
});

export const backendNames = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];

export const runConfigSchema = z.strictObject({
  /** The run's readable name (set by the harness): a safe word, as it becomes a Slurm job name. */
  name: safeNameSchema.default('run'),
  method: z.enum(['full', 'fixed', 'inrank']).default('full'),
  model: modelSchema.prefault({}),
  inrank: inrankSchema.prefault({}),
  train: trainSchema.prefault({}),
  data: dataSchema.prefault({}),
  precision: precisionSchema.prefault({}),
  stage: stageSchema.prefault({}),
  backend: z.enum(backendNames).default('auto'),
  /** The run's folder: checkpoints and anything else the run writes. */
  outDir: z.string().default('results/runs/run'),
  /** Continue from the last checkpoint in outDir when there is one. */
  resume: z.boolean().default(false),
});

export type RunConfig = z.infer<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;
export type ModelConfig = RunConfig['model'];
export type InRankConfig = RunConfig['inrank'];

/** Validates a raw config; a problem becomes one UserError line naming the key. */
export function parseRunConfig(raw: unknown): RunConfig {
  const result = runConfigSchema.safeParse(raw);
  if (!result.success) throw new UserError(`run config: ${describeZodIssue(result.error)}`);
  const cfg = result.data;
  if (cfg.model.nEmbd % cfg.model.nHead !== 0) {
    throw new UserError(`run config: model.nEmbd (${cfg.model.nEmbd}) must be divisible by model.nHead (${cfg.model.nHead})`);
  }
  if (cfg.train.globalBatch % cfg.train.microBatch !== 0) {
    throw new UserError(
      `run config: train.globalBatch (${cfg.train.globalBatch}) must be a multiple of train.microBatch (${cfg.train.microBatch})`,
    );
  }
  if (cfg.stage.kind === 'stage2' && !cfg.stage.from) {
    throw new UserError('run config: stage.kind is stage2 but stage.from (the pruned stage-1 checkpoint) is not set');
  }
  if (cfg.stage.kind !== 'single' && cfg.method !== 'inrank') {
    throw new UserError(`run config: stage.kind ${cfg.stage.kind} needs method inrank (got ${cfg.method})`);
  }
  if (cfg.method === 'inrank' && cfg.inrank.determinationLag >= cfg.inrank.gapIter) {
    throw new UserError(
      `run config: inrank.determinationLag (${cfg.inrank.determinationLag}) must be below inrank.gapIter (${cfg.inrank.gapIter}), so that one determination per layer is in flight at a time`,
    );
  }
  if (cfg.data.corpus !== 'brown' && !cfg.data.dataDir) {
    throw new UserError(`run config: data.corpus ${cfg.data.corpus} needs data.dataDir, the folder with wiki.train.raw / wiki.valid.raw / wiki.test.raw`);
  }
  return cfg;
}

/** The GELU a run's model uses: 'reference' is tanh for the full-rank baseline, exact erf for fixed rank and InRank. */
export function resolveActivation(activation: RunConfig['model']['activation'], method: RunConfig['method']): GeluKind {
  if (activation !== 'reference') return activation;
  return method === 'full' ? 'gelu-tanh' : 'gelu-exact';
}

/** The rank used by fixed-rank runs and the InRank caps: floor(min(in, out) / 2), as the reference. */
export function maxRankOf(inFeatures: number, outFeatures: number): number {
  return Math.floor(Math.min(inFeatures, outFeatures) / 2);
}
