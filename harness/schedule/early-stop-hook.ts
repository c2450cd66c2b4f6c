// The scheduler's one hook for early stopping across runs (a search's ASHA): it sees each event
// of a run in flight and may ask to stop the run. The run is then stopped through its executor
// (SIGTERM locally: the trainer checkpoints and exits interrupted) and ends 'pruned', a result
// like 'done': not a failure, not retried, and its curve stays in the store.
import type { DoneEvent, TrainEvent } from '../contract/protocol.ts';
import type { RunPlan } from '../spec/plan.ts';

export interface EarlyStopHook {
  /** A reason to stop the run now, or null to let it go on. */
  onEvent(plan: RunPlan, event: TrainEvent): string | null;
}

/** One launch watched by the hook: the signal to launch with, and the reason once it asked to stop. */
export interface StopWatch {
  signal: AbortSignal;
  /** Call with each event of the launch. */
  onEvent(event: TrainEvent): void;
  /** The hook's reason, once it asked to stop this run; null while it has not. */
  readonly reason: string | null;
}

/**
 * Watches one launch of `plan`: the first stop the hook asks for aborts only this run's signal
 * (the sweep's own signal still stops it too), through the same path as a sweep's stop.
 */
export function watchForStop(hook: EarlyStopHook | undefined, plan: RunPlan, sweepSignal: AbortSignal): StopWatch {
  const stopRun = new AbortController();
  let reason: string | null = null;
  return {
    signal: hook ? AbortSignal.any([sweepSignal, stopRun.signal]) : sweepSignal,
    onEvent(event) {
      if (!hook || reason !== null) return;
      reason = hook.onEvent(plan, event);
      if (reason !== null) stopRun.abort();
    },
    get reason() {
      return reason;
    },
  };
}

/** The launch ends 'pruned': the hook stopped it, the sweep was not stopped, and it did not finish first. */
export const endedPruned = (watch: StopWatch, sweepSignal: AbortSignal, done: DoneEvent | undefined): boolean =>
  watch.reason !== null && !sweepSignal.aborted && done?.status !== 'done';
