// The training run, phase by phase: prepare (backend, data, starting point, model), then the
// sanity check (evaluation passes the InRank counter counts before training), the optimizer loop
// (step with its rank determinations, divergence, evaluate, checkpoint), then the end (stage 1
// tests when it counts evaluation passes, then prunes; the others evaluate on the test split and
// checkpoint), and finish.
// The phases themselves live in prepare.ts, session.ts and prune.ts; this file orders them.
import type { RunConfig } from '../../contract/config.ts';
import type { ExitCode } from '../../contract/protocol.ts';
import { selectBackend } from '../backend/select.ts';
import { AdamW } from '../optim/adamw.ts';
import type { TrainerIO } from './io.ts';
import { buildModel, findStartingPoint, prepareData, startSpectrumPool } from './prepare.ts';
import { prune } from './prune.ts';
import { TrainingSession } from './session.ts';

export type { TrainerIO } from './io.ts';
export { FP16_MIN_SCALE, FP16_NONFINITE_STREAK } from './session.ts';

export async function train(cfg: RunConfig, io: TrainerIO): Promise<ExitCode> {
  const wallStart = performance.now();
  const selected = await selectBackend(cfg.backend);
  io.log(`backend ${selected.backend} (matmul ${selected.matmul})${selected.note ? `: ${selected.note}` : ''}`);
  const data = await prepareData(cfg, io);
  const start = findStartingPoint(cfg, io);
  const spectrumPool = await startSpectrumPool(cfg, io.log);
  const { model, params } = buildModel(cfg, start, spectrumPool, io.log);
  const optim = new AdamW(params, cfg.train);
  try {
    const session = new TrainingSession(cfg, io, data, start, model, optim, wallStart);
    session.restore();
    session.emitStart(selected);
    await session.sanityCheck();
    return await trainToEnd(session, io);
  } finally {
    // in-process callers (tests, sweeps) run many trainings: free the tensors of this one
    model.dispose();
    optim.dispose();
    await spectrumPool?.close();
  }
}

/** The optimizer loop and the run's end: a signal, divergence, early stopping or the last step. */
async function trainToEnd(session: TrainingSession, io: TrainerIO): Promise<ExitCode> {
  let stopReason: string | null = null;
  while (session.state.step < session.endStep) {
    if (io.stopRequested()) {
      await session.checkpoint('interrupt');
      return session.finish('interrupted', 'signal', null, session.start.lastPath);
    }
    const diverged = session.divergence(await session.step());
    if (diverged !== null) return session.finish('diverged', diverged, null, null);
    stopReason = await session.evaluateIfDue();
    if (stopReason !== null) break;
    await session.checkpointIfDue();
    await new Promise((resolve) => setImmediate(resolve)); // let a signal handler run
  }
  if (session.cfg.stage.kind === 'stage1') return await prune(session, io, await session.testBeforePruning());
  const testLoss = await session.finalEvaluation(stopReason);
  await session.checkpoint('final');
  const reason = stopReason ?? (session.state.step >= session.scheduleSteps ? 'schedule complete' : 'max steps');
  return session.finish('done', reason, testLoss, session.start.lastPath);
}
