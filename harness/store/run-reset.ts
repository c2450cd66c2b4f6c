// Starting a stored run over, and moving it to the folders a new command line names. Both
// keep the run's row (its id, name, sweeps and config) and drop what a discarded attempt left:
// its metric rows, rank decisions and checkpoint records, which would otherwise mix with the
// new attempt's from step 0.
import type { StoredRunStatus } from './rows.ts';
import type { Store } from './store.ts';

/** Result columns a finished attempt filled: cleared so a run started over shows nothing old. */
const RESULT_COLUMNS = [
  'steps', 'max_steps', 'skipped_steps', 'wall_ms', 'train_ms', 'params_total', 'params_mlp', 'flops_per_token', 'ranks',
  'train_loss', 'valid_loss', 'valid_ppl', 'best_valid_loss', 'test_loss', 'test_ppl', 'reason', 'error', 'started_at', 'finished_at', 'job_id',
] as const;

/** Drops the rows an attempt wrote as it trained (metrics, rank decisions, checkpoints). */
export function dropProgress(store: Store, runId: string): void {
  for (const table of ['metrics', 'rank_events', 'artifacts']) store.db.prepare(`DELETE FROM ${table} WHERE run_id = ?`).run(runId);
}

/**
 * Sets the given runs back to pending with no attempts (so they start at step 0, not from a
 * checkpoint), dropping their progress; runs another harness is training are left alone.
 * Returns the ids reset.
 */
export function resetRuns(store: Store, runIds: readonly string[], statuses: ReadonlySet<StoredRunStatus> | null): string[] {
  const reset: string[] = [];
  const clear = RESULT_COLUMNS.map((c) => `${c} = NULL`).join(', ');
  store.db
    .transaction(() => {
      for (const id of runIds) {
        const row = store.getRun(id);
        if (!row || row.status === 'running' || row.status === 'pending' || (statuses && !statuses.has(row.status))) continue;
        dropProgress(store, id);
        store.db.prepare(`UPDATE runs SET status = 'pending', attempts = 0, ${clear} WHERE id = ?`).run(id);
        reset.push(id);
      }
    })
    .immediate();
  return reset;
}

/** Records where a run now lives: its folder, and the data and cache folders (and a stage 2's start) in its stored config. */
export function moveRun(store: Store, runId: string, where: { outDir: string; dataDir: string | null; cacheDir: string; stageFrom: string | null }): void {
  store.db
    .prepare(
      `UPDATE runs SET run_dir = ?, config = json_set(config, '$.outDir', ?, '$.data.dataDir', ?, '$.data.cacheDir', ?, '$.stage.from', ?) WHERE id = ?`,
    )
    .run(where.outDir, where.outDir, where.dataDir, where.cacheDir, where.stageFrom, runId);
}
