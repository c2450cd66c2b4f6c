// --rerun failed|all: the runs of this sweep the user names start again from step 0. Without
// it, finished runs (done, diverged) are kept and failed or interrupted ones resume from their
// checkpoints. The runs keep their ids and rows; what their earlier attempts stored is dropped.
import type { RunPlan } from '../spec/plan.ts';
import type { StoredRunStatus } from '../store/rows.ts';
import { resetRuns } from '../store/run-reset.ts';
import type { Store } from '../store/store.ts';
import type { RerunChoice } from './sweep-input.ts';

const FAILED: ReadonlySet<StoredRunStatus> = new Set(['failed', 'skipped', 'diverged']);

/** Resets the named runs and says how many. */
export function rerunLine(store: Store, plans: readonly RunPlan[], choice: RerunChoice): string {
  const reset = resetRuns(store, plans.map((p) => p.id), choice === 'failed' ? FAILED : null);
  const what = choice === 'failed' ? 'failed, skipped or diverged' : 'stored';
  return `--rerun ${choice}: ${reset.length} ${what} run(s) of this sweep start again from step 0`;
}
