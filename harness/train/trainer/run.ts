// The training run: backend, data, model (dense, fixed, InRank, or stage 2 from a pruned
// checkpoint), the optimizer loop with gradient accumulation, evaluation, early stopping,
// checkpoints, signals and divergence. Everything it reports goes through emit().
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type RunConfig } from '../../contract/config.ts';
import { UserError } from '../../contract/errors.ts';
import type { DoneEvent, ExitCode, FinalMetrics, ParamCounts, RunStatus, TrainEvent } from '../../contract/protocol.ts';
import { EXIT } from '../../contract/protocol.ts';
import { selectBackend } from '../backend/select.ts';
import { loadCorpus } from '../data/corpus.ts';
import { TokenWindows } from '../data/windows.ts';
import { GPT } from '../model/gpt.ts';
import { linearFactoryFor } from '../model/linears.ts';
import { SpectrumPool } from '../inrank/spectrum-pool.ts';
import { paramCounts, trainingFlopsPerToken, lowRankLinearCost, type MlpCost } from '../model/counts.ts';
import { AdamW, clipCoefficient } from '../optim/adamw.ts';
import { linearWarmupDecay } from '../optim/schedule.ts';
import { fp16PathFor, precisionOf } from '../precision/index.ts';
import { LossScaler } from '../precision/scaler.ts';
import { readCheckpoint, writeCheckpoint, type CheckpointHeader, type LoadedCheckpoint, type TrainingState } from '../checkpoint.ts';
import { EpochBatches } from './batches.ts';
import { accumulate, evalLossOnDevice, readStepScalars, runMicroBatchOnDevice } from './micro-batch.ts';
import { layerStates, loadModelTensors, modelTensors, prunedTensors, restoreLayerStates } from './model-state.ts';

export interface TrainerIO {
  emit(event: TrainEvent): void;
  log(line: string): void;
  /** True once SIGTERM / SIGINT arrived: finish the step, checkpoint, stop. */
  stopRequested(): boolean;
}

/** fp16: this many consecutive steps with a non-finite loss end the run as diverged. */
export const FP16_NONFINITE_STREAK = 10;
/** fp16: a loss scale below the smallest half subnormal can no longer recover the gradients. */
export const FP16_MIN_SCALE = 2 ** -24;

const sameModelSize = (a: RunConfig['model'], b: RunConfig['model']) =>
  a.nEmbd === b.nEmbd && a.nHead === b.nHead && a.nLayer === b.nLayer && a.context === b.context && a.vocabSize === b.vocabSize;
const describeSize = (m: RunConfig['model']) => `n_embd ${m.nEmbd}, n_head ${m.nHead}, n_layer ${m.nLayer}, context ${m.context}, vocab ${m.vocabSize}`;

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

export async function train(cfg: RunConfig, io: TrainerIO): Promise<ExitCode> {
  const wallStart = performance.now();
  const selected = await selectBackend(cfg.backend);
  io.log(`backend ${selected.backend} (matmul ${selected.matmul})${selected.note ? `: ${selected.note}` : ''}`);

  const corpus = await loadCorpus(cfg.data, io.log);
  if (corpus.vocabSize !== cfg.model.vocabSize) {
    throw new UserError(
      `the corpus has a vocabulary of ${corpus.vocabSize} tokens but model.vocabSize is ${cfg.model.vocabSize}; set model.vocabSize to ${corpus.vocabSize} (or data.vocabTopK to match)`,
    );
  }
  const context = cfg.model.context;
  const trainW = new TokenWindows(corpus.train, context);
  const validW = new TokenWindows(corpus.valid, context);
  const testW = new TokenWindows(corpus.test, context);
  const batches = new EpochBatches(trainW.count, cfg.train.globalBatch, cfg.train.seed);
  if (batches.stepsPerEpoch === 0) {
    throw new UserError(`the training split has ${trainW.count} windows of ${context + 1} tokens, fewer than train.globalBatch (${cfg.train.globalBatch}); lower train.globalBatch or model.context`);
  }

  // What to start from: this run's last checkpoint (resume), stage 1's pruned one (stage 2), or init.
  const lastPath = join(cfg.outDir, 'last.ckpt');
  const resumed = cfg.resume && existsSync(lastPath) ? readCheckpoint(lastPath) : null;
  if (resumed && !sameModelSize(resumed.header.model, cfg.model)) {
    throw new UserError(`--resume: ${lastPath} is for a model with ${describeSize(resumed.header.model)}; this run has ${describeSize(cfg.model)}`);
  }
  const stage1 = cfg.stage.kind === 'stage2' ? loadStage1(cfg) : null;
  const source = resumed ?? stage1;
  const fixedRanks = cfg.stage.kind === 'stage2' ? (source!.header.ranks ?? undefined) : undefined;
  const nominalMax = cfg.stage.kind === 'stage2' ? (source!.header.maxRanks ?? undefined) : undefined;

  const determinesOffThread = cfg.method === 'inrank' && cfg.stage.kind !== 'stage2' && cfg.inrank.determinationLag > 0;
  const spectrumPool = determinesOffThread ? await SpectrumPool.start(cfg.inrank.determinationWorkers) : null;
  if (spectrumPool) {
    const pinned = spectrumPool.size > 1 ? '; OpenBLAS at 1 thread' : '';
    io.log(`rank determinations on ${spectrumPool.size} worker thread(s) (float64 work in ${spectrumPool.linalgPath}${pinned}), applied ${cfg.inrank.determinationLag} tick(s) after measurement`);
  }
  const model = new GPT(cfg.model, cfg.train.seed, linearFactoryFor(cfg, fixedRanks, nominalMax, spectrumPool));
  const params = model.params();
  const optim = new AdamW(params, cfg.train);
  try {
    const scaler = new LossScaler(cfg.precision.initScale, cfg.precision.growthInterval);
    const fp16 = cfg.precision.kind === 'fp16';
    const precision = precisionOf(cfg.precision.kind);

    const stepsPerEpoch = batches.stepsPerEpoch;
    const scheduleSteps = Math.min(cfg.train.maxSteps ?? Infinity, cfg.train.maxEpochs * stepsPerEpoch);
    const warmup = cfg.train.warmupSteps ?? stepsPerEpoch;
    const endStep = cfg.stage.kind === 'stage1' ? Math.min(cfg.stage.stage1Steps, scheduleSteps) : scheduleSteps;

    let state: TrainingState = {
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
    };
    if (source) {
      const isResume = source === resumed;
      loadModelTensors(model, optim, source.tensors, isResume ? lastPath : cfg.stage.from!, !isResume && cfg.stage.resetMoments);
      state = { ...source.header.state, scheduleSteps };
      optim.t = source.header.state.optimizerT;
      scaler.state = { ...source.header.state.scaler };
      if (isResume) restoreLayerStates(model, source.header.layerStates ?? {});
      io.log(isResume ? `resumed from ${lastPath} at step ${state.step}` : `stage 2 from ${cfg.stage.from} at step ${state.step}, ranks ${JSON.stringify(fixedRanks)}`);
    }
    const wallBefore = state.wallMs;
    const resumedFromStep = source ? state.step : null;

    const ranksNow = () => model.ranks();
    io.emit({
      type: 'start',
      time: new Date().toISOString(),
      backend: selected.backend,
      matmul: selected.matmul,
      adapter: selected.adapter,
      fp16Path: fp16PathFor(cfg.precision.kind, selected.adapter?.shaderF16 ?? false),
      config: cfg,
      params: model.paramCounts(),
      flopsPerToken: model.flopsPerToken(),
      scheduleSteps,
      maxSteps: endStep,
      stepsPerEpoch,
      resumedFromStep,
      ranks: ranksNow()?.current ?? null,
      maxRanks: ranksNow()?.max ?? null,
    });

    const micro = cfg.train.microBatch;
    const microCount = cfg.train.globalBatch / micro;
    const inputs = new Int32Array(micro * context);
    const targets = new Int32Array(micro * context);

    const header = (kind: CheckpointHeader['kind']): Omit<CheckpointHeader, 'format' | 'tensors'> => {
      const r = ranksNow();
      return {
        kind,
        state: { ...state, optimizerT: optim.t, scaler: scaler.state, wallMs: wallBefore + (performance.now() - wallStart) },
        pruned: false,
        model: cfg.model,
        ranks: r?.current ?? null,
        maxRanks: r?.max ?? null,
        layerStates: layerStates(model),
        params: model.paramCounts(),
        config: cfg,
      };
    };
    const saveLast = async (kind: 'periodic' | 'interrupt' | 'final') => {
      writeCheckpoint(lastPath, header(kind), await modelTensors(model, optim));
      io.emit({ type: 'checkpoint', step: state.step, path: lastPath, kind });
    };

    const evaluate = async (split: 'valid' | 'test'): Promise<number> => {
      const w = split === 'valid' ? validW : testW;
      const cap = split === 'valid' && cfg.train.evalBatches !== null ? cfg.train.evalBatches * micro : w.count;
      const total = Math.min(w.count, cap);
      const losses: tf.Scalar[] = [];
      const sizes: number[] = [];
      for (let start = 0; start < total; start += micro) {
        const n = Math.min(micro, total - start);
        const idx = Array.from({ length: n }, (_, i) => start + i);
        const inp = new Int32Array(n * context);
        const tgt = new Int32Array(n * context);
        w.fill(idx, inp, tgt);
        losses.push(evalLossOnDevice(model, inp, tgt, n, { training: false, dropout: null, precision }));
        sizes.push(n);
      }
      const read = await readStepScalars(losses, new Map()); // one read for the whole evaluation
      const sum = read.losses.reduce((acc, l, i) => acc + l * sizes[i]!, 0);
      const loss = sum / total;
      io.emit({ type: 'eval', step: state.step, split, loss, ppl: Math.exp(loss) });
      return loss;
    };

    // `size` overrides the model's own counts where the run ends smaller than it trained (stage 1's pruning).
    const finish = (
      status: RunStatus,
      reason: string,
      testLoss: number | null,
      checkpoint: string | null,
      size: { params: ParamCounts; flopsPerToken: number } = { params: model.paramCounts(), flopsPerToken: model.flopsPerToken() },
    ): ExitCode => {
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
        wallMs: wallBefore + (performance.now() - wallStart),
        trainMs: state.trainMs,
        skippedSteps: state.skippedSteps,
        params: size.params,
        flopsPerToken: size.flopsPerToken,
        ranks: ranksNow()?.current ?? null,
        checkpoint,
      };
      io.emit(done);
      return status === 'done' ? EXIT.ok : status === 'diverged' ? EXIT.diverged : EXIT.interrupted;
    };

    let nonFiniteStreak = 0;
    let stopReason: string | null = null;
    while (state.step < endStep) {
      if (io.stopRequested()) {
        await saveLast('interrupt');
        return finish('interrupted', 'signal', null, lastPath);
      }
      const step = state.step;
      const lr = cfg.train.lr * linearWarmupDecay(step, warmup, scheduleSteps);
      const windows = batches.windowsOf(step);
      const { epoch } = batches.positionOf(step);
      const lossScale = fp16 ? scaler.scale : 1;
      const t0 = performance.now();
      const acc = new Map<string, tf.Tensor>();
      const microLosses: tf.Scalar[] = [];
      for (let j = 0; j < microCount; j++) {
        trainW.fill(windows.subarray(j * micro, (j + 1) * micro), inputs, targets);
        const r = await runMicroBatchOnDevice(model, inputs, targets, micro, { training: true, dropout: { p: cfg.model.dropout, seed: cfg.train.seed, step, micro: j }, precision }, lossScale / microCount);
        microLosses.push(r.loss);
        accumulate(acc, r.grads);
        for (const { name, layer } of model.mlpLayers()) {
          for (const ev of layer.afterTrainingForward?.(step + 1, name) ?? []) io.emit(ev); // the step in progress, numbered as step events are
        }
      }
      const read = await readStepScalars(microLosses, acc); // the step's one read-back
      const loss = read.losses.reduce((a, b) => a + b, 0) / microCount;
      const scaledNorm = read.scaledNorm;
      const gradNorm = scaledNorm / lossScale;
      let skipped = false;
      if (fp16) skipped = scaler.update(Number.isFinite(scaledNorm));
      else skipped = !Number.isFinite(scaledNorm);
      if (!skipped) optim.step(acc, lr, clipCoefficient(gradNorm, cfg.train.gradClip) / lossScale);
      tf.dispose([...acc.values()]);
      const ms = performance.now() - t0;
      state = {
        ...state,
        step: step + 1,
        ...batches.positionOf(step + 1),
        trainMs: state.trainMs + ms,
        skippedSteps: state.skippedSteps + (skipped ? 1 : 0),
        lastTrainLoss: loss,
      };
      io.emit({
        type: 'step',
        step: state.step,
        epoch,
        loss,
        lr,
        gradNorm,
        tokensPerSec: (cfg.train.globalBatch * context) / (ms / 1000),
        trainMs: state.trainMs,
        ...(fp16 ? { skipped, lossScale: scaler.scale } : {}),
      });

      // Divergence: fp32 stops at the first non-finite loss; fp16 lets the scaler skip first.
      nonFiniteStreak = Number.isFinite(loss) ? 0 : nonFiniteStreak + 1;
      if (!fp16 && !Number.isFinite(loss)) return finish('diverged', `training loss is ${loss}`, null, null);
      if (!fp16 && skipped) return finish('diverged', `gradient norm is ${gradNorm}`, null, null);
      if (fp16 && nonFiniteStreak >= FP16_NONFINITE_STREAK) return finish('diverged', `training loss non-finite on ${nonFiniteStreak} consecutive steps`, null, null);
      if (fp16 && scaler.scale < FP16_MIN_SCALE) return finish('diverged', `loss scale underflowed to ${scaler.scale}`, null, null);
      if (loss > cfg.train.divergenceLoss) return finish('diverged', `training loss ${loss.toFixed(3)} above train.divergenceLoss ${cfg.train.divergenceLoss}`, null, null);

      if (state.step % cfg.train.evalEvery === 0 && state.step < endStep) {
        const v = await evaluate('valid');
        if (state.bestValidLoss === null || v < state.bestValidLoss) state = { ...state, bestValidLoss: v, badEvals: 0, lastValidLoss: v };
        else state = { ...state, badEvals: state.badEvals + 1, lastValidLoss: v };
        if (cfg.train.patience !== null && state.badEvals >= cfg.train.patience) {
          stopReason = `early stopping: no better validation loss in ${state.badEvals} evaluations`;
          break;
        }
      }
      if (state.step % cfg.train.checkpointEvery === 0 && state.step < endStep) await saveLast('periodic');
      await new Promise((resolve) => setImmediate(resolve)); // let a signal handler run
    }

    if (cfg.stage.kind === 'stage1') {
      const { tensors, ranks } = await prunedTensors(model, optim);
      const costs: MlpCost[] = [];
      for (let i = 0; i < cfg.model.nLayer; i++) {
        const c = cfg.model.nEmbd;
        const a = lowRankLinearCost(c, 4 * c, ranks[`h.${i}.mlp.fc1`]!);
        const b = lowRankLinearCost(4 * c, c, ranks[`h.${i}.mlp.fc2`]!);
        costs.push({ params: a.params + b.params, macsPerToken: a.macsPerToken + b.macsPerToken });
      }
      const prunedParams = paramCounts(cfg.model, costs);
      const prunedFlops = trainingFlopsPerToken(cfg.model, costs);
      const prunedPath = join(cfg.outDir, 'pruned.ckpt');
      const h = header('final');
      writeCheckpoint(prunedPath, { ...h, kind: 'pruned', pruned: true, ranks, params: prunedParams, layerStates: {} }, tensors);
      io.emit({ type: 'prune', step: state.step, ranks, params: prunedParams, flopsPerToken: prunedFlops });
      io.emit({ type: 'checkpoint', step: state.step, path: prunedPath, kind: 'pruned' });
      return finish('done', 'stage 1 complete: pruned', null, prunedPath, { params: prunedParams, flopsPerToken: prunedFlops });
    }

    if (state.lastValidLoss === null || stopReason === null) {
      const v = await evaluate('valid');
      if (state.bestValidLoss === null || v < state.bestValidLoss) state = { ...state, bestValidLoss: v, badEvals: 0 };
      state = { ...state, lastValidLoss: v };
    }
    const testLoss = await evaluate('test');
    await saveLast('final');
    return finish('done', stopReason ?? (state.step >= scheduleSteps ? 'schedule complete' : 'max steps'), testLoss, lastPath);
  } finally {
    // in-process callers (tests, sweeps) run many trainings: free the tensors of this one
    model.dispose();
    optim.dispose();
    await spectrumPool?.close();
  }
}
