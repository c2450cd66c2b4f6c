// One training run's state between its phases: restore, step (with the rank determinations of
// its forward passes), evaluate, divergence, checkpoint, prune, finish. train() in run.ts calls
// these in order; every event goes through io.emit, in the order the protocol documents.
// The step and evaluation phases are async so that backends whose read-backs must be awaited
// (WebGPU) fit without another change of shape.
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { RunConfig } from '../../contract/config.ts';
import type { DoneEvent, ExitCode, FinalMetrics, ParamCounts, RunStatus } from '../../contract/protocol.ts';
import { EXIT } from '../../contract/protocol.ts';
import type { SelectedBackend } from '../backend/select.ts';
import { launchCodeFacts, runtimeFacts } from '../backend/runtime-facts.ts';
import { writeCheckpoint, type CheckpointHeader, type TrainingState } from '../checkpoint.ts';
import type { GPT } from '../model/gpt.ts';
import { AdamW, clipCoefficient } from '../optim/adamw.ts';
import { linearWarmupDecay } from '../optim/schedule.ts';
import type { Precision } from '../model/linear.ts';
import { fp16PathFor, precisionOf } from '../precision/index.ts';
import { LossScaler } from '../precision/scaler.ts';
import { evalTicker, type EvalTicker } from './eval-ticks.ts';
import { accumulate, evalLossOnDevice, readStepScalars, runMicroBatchOnDevice } from './micro-batch.ts';
import { layerStates, loadModelTensors, modelTensors, restoreLayerStates } from './model-state.ts';
import type { RunData, StartingPoint } from './prepare.ts';
import type { TrainerIO } from './io.ts';
import { PREVIOUS_CHECKPOINT } from './resume-source.ts';

/** fp16: this many consecutive steps with a non-finite loss end the run as diverged. */
export const FP16_NONFINITE_STREAK = 10;
/** fp16: a loss scale below the smallest half subnormal can no longer recover the gradients. */
export const FP16_MIN_SCALE = 2 ** -24;

/** What one optimizer step measured. */
export interface StepResult {
  loss: number;
  gradNorm: number;
  /** The update was skipped (fp16 overflow, or a non-finite gradient in fp32). */
  skipped: boolean;
}

/** The size a run ends with, when it differs from the model's own (stage 1's pruning). */
export interface FinalSize {
  params: ParamCounts;
  flopsPerToken: number;
}

const initialState = (scheduleSteps: number, scaler: LossScaler): TrainingState => ({
  step: 0,
  epoch: 0,
  position: 0,
  optimizerT: 0,
  scheduleSteps,
  scaler: scaler.state,
  skippedSteps: 0,
  trainMs: 0,
  wallMs: 0,
  bestValidLoss: null,
  badEvals: 0,
  lastTrainLoss: null,
  lastValidLoss: null,
});

export class TrainingSession {
  state: TrainingState;
  readonly scheduleSteps: number;
  /** The step this run stops at: stage 1 stops at stage1Steps, the others at the schedule's end. */
  readonly endStep: number;
  private readonly scaler: LossScaler;
  private readonly fp16: boolean;
  private readonly precision: Precision;
  private readonly warmup: number;
  private readonly microCount: number;
  private readonly inputs: Int32Array;
  private readonly targets: Int32Array;
  private wallBefore = 0;
  private nonFiniteStreak = 0;
  /** Evaluation passes on the InRank counter (inrank.countEvalPasses). */
  private readonly ticker: EvalTicker;

  constructor(
    readonly cfg: RunConfig,
    private readonly io: TrainerIO,
    private readonly data: RunData,
    readonly start: StartingPoint,
    readonly model: GPT,
    readonly optim: AdamW,
    private readonly wallStart: number,
  ) {
    this.scaler = new LossScaler(cfg.precision.initScale, cfg.precision.growthInterval);
    this.fp16 = cfg.precision.kind === 'fp16';
    this.precision = precisionOf(cfg.precision.kind);
    const stepsPerEpoch = data.batches.stepsPerEpoch;
    this.scheduleSteps = Math.min(cfg.train.maxSteps ?? Infinity, cfg.train.maxEpochs * stepsPerEpoch);
    this.warmup = cfg.train.warmupSteps ?? stepsPerEpoch;
    this.endStep = cfg.stage.kind === 'stage1' ? Math.min(cfg.stage.stage1Steps, this.scheduleSteps) : this.scheduleSteps;
    this.state = initialState(this.scheduleSteps, this.scaler);
    this.microCount = cfg.train.globalBatch / cfg.train.microBatch;
    this.inputs = new Int32Array(cfg.train.microBatch * cfg.model.context);
    this.targets = new Int32Array(cfg.train.microBatch * cfg.model.context);
    this.ticker = evalTicker(cfg, model, (ev) => io.emit(ev));
  }

  /** Loads the starting checkpoint (resume or stage 2) into the model, optimizer and state. */
  restore(): void {
    const { source, isResume, resumedPath, fixedRanks } = this.start;
    if (source) {
      const cfg = this.cfg;
      loadModelTensors(this.model, this.optim, source.tensors, isResume ? resumedPath! : cfg.stage.from!, !isResume && cfg.stage.resetMoments);
      this.state = { ...source.header.state, scheduleSteps: this.scheduleSteps };
      this.optim.t = source.header.state.optimizerT;
      this.scaler.state = { ...source.header.state.scaler };
      if (isResume) restoreLayerStates(this.model, source.header.layerStates ?? {});
      this.io.log(isResume ? `resumed from ${resumedPath} at step ${this.state.step}` : `stage 2 from ${cfg.stage.from} at step ${this.state.step}, ranks ${JSON.stringify(fixedRanks)}`);
    }
    this.wallBefore = this.state.wallMs;
  }

  emitStart(selected: SelectedBackend): void {
    const ranks = this.model.ranks();
    this.io.emit({
      type: 'start',
      time: new Date().toISOString(),
      backend: selected.backend,
      matmul: selected.matmul,
      adapter: selected.adapter,
      fp16Path: fp16PathFor(this.cfg.precision.kind, selected.adapter?.shaderF16 ?? false),
      runtime: runtimeFacts(selected),
      code: launchCodeFacts(),
      config: this.cfg,
      params: this.model.paramCounts(),
      flopsPerToken: this.model.flopsPerToken(),
      scheduleSteps: this.scheduleSteps,
      maxSteps: this.endStep,
      stepsPerEpoch: this.data.batches.stepsPerEpoch,
      resumedFromStep: this.start.source ? this.state.step : null,
      ranks: ranks?.current ?? null,
      maxRanks: ranks?.max ?? null,
    });
  }

  /** One optimizer step: the micro-batches with gradient accumulation, then the update. */
  async step(): Promise<StepResult> {
    const { cfg } = this;
    const step = this.state.step;
    const lr = cfg.train.lr * linearWarmupDecay(step, this.warmup, this.scheduleSteps);
    const lossScale = this.fp16 ? this.scaler.scale : 1;
    const t0 = performance.now();
    const acc = new Map<string, tf.Tensor>();
    const microLosses = await this.accumulateMicroBatches(step, lossScale, acc);
    const read = await readStepScalars(microLosses, acc); // the step's one read-back
    const loss = read.losses.reduce((a, b) => a + b, 0) / this.microCount;
    const scaledNorm = read.scaledNorm;
    const gradNorm = scaledNorm / lossScale;
    const skipped = this.fp16 ? this.scaler.update(Number.isFinite(scaledNorm)) : !Number.isFinite(scaledNorm);
    if (!skipped) this.optim.step(acc, lr, clipCoefficient(gradNorm, cfg.train.gradClip) / lossScale);
    tf.dispose([...acc.values()]);
    const ms = performance.now() - t0;
    const { epoch } = this.data.batches.positionOf(step);
    this.state = {
      ...this.state,
      step: step + 1,
      ...this.data.batches.positionOf(step + 1),
      trainMs: this.state.trainMs + ms,
      skippedSteps: this.state.skippedSteps + (skipped ? 1 : 0),
      lastTrainLoss: loss,
    };
    this.io.emit({
      type: 'step',
      step: this.state.step,
      epoch,
      loss,
      lr,
      gradNorm,
      tokensPerSec: (cfg.train.globalBatch * cfg.model.context) / (ms / 1000),
      trainMs: this.state.trainMs,
      ...(this.fp16 ? { skipped, lossScale: this.scaler.scale } : {}),
    });
    return { loss, gradNorm, skipped };
  }

  /**
   * Runs the step's micro-batches into acc; returns their losses as device scalars, unread, so
   * that the step reads them together with the gradient norm in one transfer.
   */
  private async accumulateMicroBatches(step: number, lossScale: number, acc: Map<string, tf.Tensor>): Promise<tf.Scalar[]> {
    const { cfg, inputs, targets } = this;
    const micro = cfg.train.microBatch;
    const windows = this.data.batches.windowsOf(step);
    const losses: tf.Scalar[] = [];
    for (let j = 0; j < this.microCount; j++) {
      this.data.train.fill(windows.subarray(j * micro, (j + 1) * micro), inputs, targets);
      const dropout = { p: cfg.model.dropout, seed: cfg.train.seed, step, micro: j };
      const r = await runMicroBatchOnDevice(this.model, inputs, targets, micro, { training: true, dropout, precision: this.precision }, lossScale / this.microCount);
      losses.push(r.loss);
      accumulate(acc, r.grads);
      this.determineRanks(step + 1); // the step in progress, numbered as step events are
    }
    return losses;
  }

  /** The InRank layers count the training forward pass and determine their ranks when due. */
  private determineRanks(stepInProgress: number): void {
    for (const { name, layer } of this.model.mlpLayers()) {
      for (const ev of layer.afterTrainingForward?.(stepInProgress, name) ?? []) this.io.emit(ev);
    }
  }

  /** Why the run diverged after this step, or null. fp32 stops at the first non-finite loss; fp16 lets the scaler skip first. */
  divergence({ loss, gradNorm, skipped }: StepResult): string | null {
    const { fp16, scaler } = this;
    this.nonFiniteStreak = Number.isFinite(loss) ? 0 : this.nonFiniteStreak + 1;
    if (!fp16 && !Number.isFinite(loss)) return `training loss is ${loss}`;
    if (!fp16 && skipped) return `gradient norm is ${gradNorm}`;
    if (fp16 && this.nonFiniteStreak >= FP16_NONFINITE_STREAK) return `training loss non-finite on ${this.nonFiniteStreak} consecutive steps`;
    if (fp16 && scaler.scale < FP16_MIN_SCALE) return `loss scale underflowed to ${scaler.scale}`;
    if (loss > this.cfg.train.divergenceLoss) return `training loss ${loss.toFixed(3)} above train.divergenceLoss ${this.cfg.train.divergenceLoss}`;
    return null;
  }

  /** Windows an evaluation of the split covers: capped at train.evalBatches (valid) or testBatches (test) micro-batches. */
  private evalWindows(split: 'valid' | 'test'): number {
    const { cfg } = this;
    const w = split === 'valid' ? this.data.valid : this.data.test;
    const batches = split === 'valid' ? cfg.train.evalBatches : cfg.train.testBatches;
    return batches === null ? w.count : Math.min(w.count, batches * cfg.train.microBatch);
  }

  /**
   * Lightning's sanity check before the first training batch (a fresh start only): the
   * validation batches it runs tick the InRank counter when the run counts evaluation passes.
   */
  async sanityCheck(): Promise<void> {
    if (!this.start.source) await this.ticker.sanityCheck(this.evalWindows('valid'), this.state.step);
  }

  /**
   * Mean loss on a split; emits the eval event. The forwards are queued and read back together;
   * where the run counts evaluation passes, each tick (and its determination, awaited) comes
   * before the forward of its block of windows, in the order the reference's layer sees them.
   */
  async evaluate(split: 'valid' | 'test'): Promise<number> {
    const { cfg } = this;
    this.io.emit({ type: 'phase', phase: 'evaluating', detail: split });
    const micro = cfg.train.microBatch;
    const context = cfg.model.context;
    const w = split === 'valid' ? this.data.valid : this.data.test;
    const total = this.evalWindows(split);
    const losses: tf.Scalar[] = [];
    const sizes: number[] = [];
    for (let start = 0; start < total; start += micro) {
      await this.ticker.beforeEvalChunk(start, this.state.step);
      const n = Math.min(micro, total - start);
      const inp = new Int32Array(n * context);
      const tgt = new Int32Array(n * context);
      w.fill(Array.from({ length: n }, (_, i) => start + i), inp, tgt);
      losses.push(evalLossOnDevice(this.model, inp, tgt, n, { training: false, dropout: null, precision: this.precision }));
      sizes.push(n);
    }
    const read = await readStepScalars(losses, new Map()); // one read for the whole evaluation
    const loss = read.losses.reduce((acc, l, i) => acc + l * sizes[i]!, 0) / total;
    this.io.emit({ type: 'eval', step: this.state.step, split, loss, ppl: Math.exp(loss) });
    return loss;
  }

  /**
   * Stage 1's test run after fit and before pruning, as the reference's (its test batches tick
   * the counter); only when the run counts evaluation passes. Null when it does not test.
   */
  async testBeforePruning(): Promise<number | null> {
    return this.cfg.inrank.countEvalPasses ? this.evaluate('test') : null;
  }

  /** The periodic validation; returns the early-stopping reason once patience runs out, else null. */
  async evaluateIfDue(): Promise<string | null> {
    const { cfg, state } = this;
    if (state.step % cfg.train.evalEvery !== 0 || state.step >= this.endStep) return null;
    const v = await this.evaluate('valid');
    const better = this.state.bestValidLoss === null || v < this.state.bestValidLoss;
    this.state = better ? { ...this.state, bestValidLoss: v, badEvals: 0, lastValidLoss: v } : { ...this.state, badEvals: this.state.badEvals + 1, lastValidLoss: v };
    if (cfg.train.patience !== null && this.state.badEvals >= cfg.train.patience) {
      return `early stopping: no better validation loss in ${this.state.badEvals} evaluations`;
    }
    return null;
  }

  /** The last validation (unless early stopping just measured it) and the test split. */
  async finalEvaluation(stopReason: string | null): Promise<number> {
    if (this.state.lastValidLoss === null || stopReason === null) {
      const v = await this.evaluate('valid');
      if (this.state.bestValidLoss === null || v < this.state.bestValidLoss) this.state = { ...this.state, bestValidLoss: v, badEvals: 0 };
      this.state = { ...this.state, lastValidLoss: v };
    }
    return this.evaluate('test');
  }

  checkpointHeader(kind: CheckpointHeader['kind']): Omit<CheckpointHeader, 'format' | 'tensors'> {
    const r = this.model.ranks();
    return {
      kind,
      state: { ...this.state, optimizerT: this.optim.t, scaler: this.scaler.state, wallMs: this.wallMs() },
      pruned: false,
      model: this.cfg.model,
      ranks: r?.current ?? null,
      maxRanks: r?.max ?? null,
      layerStates: layerStates(this.model),
      params: this.model.paramCounts(),
      config: this.cfg,
    };
  }

  /** Writes this run's last.ckpt (the resume point) and emits its checkpoint event; the tensors are read back asynchronously. */
  async checkpoint(kind: 'periodic' | 'interrupt' | 'final'): Promise<void> {
    const path = this.start.lastPath;
    this.io.emit({ type: 'phase', phase: 'saving' });
    // The checkpoint it replaces stays as prev.ckpt: the fallback should this one be damaged.
    writeCheckpoint(path, this.checkpointHeader(kind), await modelTensors(this.model, this.optim), join(dirname(path), PREVIOUS_CHECKPOINT));
    this.io.emit({ type: 'checkpoint', step: this.state.step, path, kind });
  }

  async checkpointIfDue(): Promise<void> {
    if (this.state.step % this.cfg.train.checkpointEvery === 0 && this.state.step < this.endStep) await this.checkpoint('periodic');
  }

  /** Emits the done event and returns the process exit code for its status. */
  finish(status: RunStatus, reason: string, testLoss: number | null, checkpoint: string | null, size?: FinalSize): ExitCode {
    const { state } = this;
    const metrics: FinalMetrics = {
      trainLoss: state.lastTrainLoss,
      validLoss: state.lastValidLoss,
      validPpl: state.lastValidLoss === null ? null : Math.exp(state.lastValidLoss),
      testLoss,
      testPpl: testLoss === null ? null : Math.exp(testLoss),
      bestValidLoss: state.bestValidLoss,
    };
    const done: DoneEvent = {
      type: 'done',
      status,
      reason,
      steps: state.step,
      metrics,
      wallMs: this.wallMs(),
      trainMs: state.trainMs,
      skippedSteps: state.skippedSteps,
      params: size?.params ?? this.model.paramCounts(),
      flopsPerToken: size?.flopsPerToken ?? this.model.flopsPerToken(),
      ranks: this.model.ranks()?.current ?? null,
      checkpoint,
    };
    this.io.emit(done);
    return status === 'done' ? EXIT.ok : status === 'diverged' ? EXIT.diverged : EXIT.interrupted;
  }

  private wallMs(): number {
    return this.wallBefore + (performance.now() - this.wallStart);
  }
}
