// The scheduler's one hook for early stopping across runs (a search's ASHA): it sees each event
// of a run in flight and may ask to stop the run. The run is then stopped through its executor
// (SIGTERM locally: the trainer checkpoints and exits interrupted) and ends 'pruned', a result
// like 'done': not a failure, not retried, and its curve stays in the store.
import type { TrainEvent } from '../contract/protocol.ts';
import type { RunPlan } from '../spec/plan.ts';

export interface EarlyStopHook {
  /** A reason to stop the run now, or null to let it go on. */
  onEvent(plan: RunPlan, event: TrainEvent): string | null;
}
