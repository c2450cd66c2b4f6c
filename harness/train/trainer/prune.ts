// Stage 1's end: every InRank layer cut to its current rank by truncated SVD, the pruned
// checkpoint that stage 2 loads, and the size the run ends with (smaller than it trained).
import { join } from 'node:path';
import type { ExitCode } from '../../contract/protocol.ts';
import { writeCheckpoint } from '../checkpoint.ts';
import { lowRankMlpCost, paramCounts, trainingFlopsPerToken } from '../../contract/model-cost.ts';
import type { TrainerIO } from './io.ts';
import { prunedTensors } from './model-state.ts';
import type { TrainingSession } from './session.ts';

/**
 * Async: the cut factors and the moments are read back from the device (WebGPU's reads are
 * awaited). testLoss: the test split's loss measured before pruning (TrainingSession.testBeforePruning), if any.
 */
export async function prune(session: TrainingSession, io: TrainerIO, testLoss: number | null = null): Promise<ExitCode> {
  const { cfg, state } = session;
  io.emit({ type: 'phase', phase: 'pruning' });
  const { tensors, ranks } = await prunedTensors(session.model, session.optim);
  const costs = Array.from({ length: cfg.model.nLayer }, (_, i) => lowRankMlpCost(cfg.model.nEmbd, ranks[`h.${i}.mlp.fc1`]!, ranks[`h.${i}.mlp.fc2`]!));
  const params = paramCounts(cfg.model, costs);
  const flopsPerToken = trainingFlopsPerToken(cfg.model, costs);
  const prunedPath = join(cfg.outDir, 'pruned.ckpt');
  const header = session.checkpointHeader('final');
  writeCheckpoint(prunedPath, { ...header, kind: 'pruned', pruned: true, ranks, params, layerStates: {} }, tensors);
  io.emit({ type: 'prune', step: state.step, ranks, params, flopsPerToken });
  io.emit({ type: 'checkpoint', step: state.step, path: prunedPath, kind: 'pruned' });
  return session.finish('done', 'stage 1 complete: pruned', testLoss, prunedPath, { params, flopsPerToken });
}
