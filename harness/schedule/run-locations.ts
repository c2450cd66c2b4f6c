// Where a launch's files live comes from the command line that launches it, never from the
// config stored when the run was first planned: the run's folder (--out), the data folder
// (--data-dir) and the token cache (--cache-dir). So a run that failed on a folder that went
// away is fixed by a rerun naming a good copy (same data, so same id), and a run moves off a
// failing disk with --out. A run resumes only from a checkpoint in the folder the current
// command line names: moved without its checkpoint, it starts over there, and the rows of its
// earlier attempts are dropped so they do not mix with the new ones.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RunConfig } from '../contract/config.ts';
import type { RunRow } from '../store/rows.ts';
import { dropProgress, moveRun } from '../store/run-reset.ts';
import { readJobRecord } from './slurm/job-file.ts';
import type { Store } from '../store/store.ts';

/**
 * The stored config with the current command line's folders in it. One exception: a cluster job
 * of the run still running in its old folder (its harness died; the launch reattaches to it)
 * keeps that folder and the folders it was started with; the run moves at its next launch.
 */
export function withCurrentLocations(stored: RunConfig, current: RunConfig): RunConfig {
  const job = stored.outDir !== current.outDir ? readJobRecord(stored.outDir) : null;
  if (job && !job.finished) return { ...stored, data: { ...stored.data } };
  return { ...stored, outDir: current.outDir, data: { ...stored.data, dataDir: current.data.dataDir, cacheDir: current.data.cacheDir } };
}

/**
 * A stage 2's start: the pruned checkpoint its stage 1 recorded, else that file in stage 1's
 * folder as stored now (where it runs or ran), else under the current --out (the results folder
 * was moved by hand). The first that exists; with none (stage 1's job not yet written it, on a
 * cluster that holds the stage 2 on it), the one in stage 1's folder.
 */
export function stageOneCheckpoint(store: Store, stage1Id: string, planned: string | null, current: string | null): string | null {
  const name = basename(planned ?? current ?? 'pruned.ckpt');
  const stage1Dir = store.getRun(stage1Id)?.run_dir;
  const inFolder = stage1Dir ? join(stage1Dir, name) : null;
  const candidates = [store.handoverCheckpoint(stage1Id), inFolder, current, planned].filter((p): p is string => p !== null);
  return candidates.find((p) => existsSync(p)) ?? inFolder ?? candidates[0] ?? null;
}

/**
 * Records the launch's folders with the run when they changed. A run that trained before in
 * another folder and has no checkpoint in the new one starts over: resume off, old rows dropped.
 */
export function settleLocations(store: Store, row: RunRow, config: RunConfig, stored: RunConfig): void {
  const moved = row.run_dir !== config.outDir;
  const { dataDir, cacheDir } = config.data;
  const changed = moved || stored.data.dataDir !== dataDir || stored.data.cacheDir !== cacheDir || stored.stage.from !== config.stage.from;
  if (!changed) return;
  moveRun(store, row.id, { outDir: config.outDir, dataDir, cacheDir, stageFrom: config.stage.from });
  if (moved && row.attempts > 0 && !existsSync(join(config.outDir, 'last.ckpt'))) {
    dropProgress(store, row.id);
    config.resume = false;
  }
}
