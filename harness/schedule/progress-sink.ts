// What the scheduler tells whoever shows progress (a live terminal view, plain log lines).
import type { RunPlan } from '../spec/plan.ts';
import type { StoredRunStatus } from '../store/rows.ts';
import type { TrainEvent } from '../contract/protocol.ts';

export interface ProgressSink {
  /** The sweep's runs, and those already finished by an earlier sweep (not run again). */
  sweepStarted(plans: RunPlan[], alreadyFinished: Map<string, StoredRunStatus>): void;
  runStarted(plan: RunPlan, device: string, attempt: number): void;
  runEvent(plan: RunPlan, event: TrainEvent): void;
  /** A crash that will be retried after delayMs. */
  runRetrying(plan: RunPlan, reason: string, delayMs: number): void;
  /** Another harness process is training this run; this sweep waits for its result. */
  runWaiting(plan: RunPlan, reason: string): void;
  runEnded(plan: RunPlan, status: StoredRunStatus, reason: string | null): void;
  close(): void;
}

export const silentProgress: ProgressSink = {
  sweepStarted() {},
  runStarted() {},
  runEvent() {},
  runRetrying() {},
  runWaiting() {},
  runEnded() {},
  close() {},
};
