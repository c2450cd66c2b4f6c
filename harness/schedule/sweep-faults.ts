// One sweep's record of the harness's own faults (io-fault.ts): the first one's line stops the
// sweep from starting runs; each fault's line becomes the reason of the run it hit. Nothing
// here throws: it is called where a throw would end the harness (timers, event callbacks).
import type { Store } from '../store/store.ts';
import type { Executor, LaunchRequest, LaunchResult } from './executor.ts';
import type { Verdict } from './exit-verdict.ts';
import { childIoFault, faultLine, type FaultPlace } from './io-fault.ts';
import { faultedLaunch } from './launch-faults.ts';

export class SweepFaults {
  /** The first fault's line; null while there is none. */
  first: string | null = null;

  constructor(private readonly store: Store) {}

  /** This fault's line (an I/O fault in its words, a bug as an internal error), kept if it is the first. */
  note(err: unknown, place: FaultPlace = { path: this.store.db.name, flag: '--db' }): string {
    const line = faultLine(err, place) ?? `internal error: ${err instanceof Error ? err.message : String(err)}`;
    this.first ??= line;
    return line;
  }

  /** A store write whose failure is noted instead of thrown. */
  guarded(write: () => void): void {
    try {
      write();
    } catch (err) {
      this.note(err);
    }
  }

  /** Ends a run as failed with the fault's reason, where the store still takes it; returns the reason. A bug's stack goes to its error column. */
  failRun(runId: string, err: unknown, place: FaultPlace = { path: this.store.db.name, flag: '--db' }): string {
    const reason = this.note(err, place);
    const error = faultLine(err, place) === null && err instanceof Error ? err.stack : undefined;
    this.guarded(() => this.store.finishRun(runId, { status: 'failed', reason, ...(error ? { error } : {}) }));
    return reason;
  }

  /** The executor's launch; one that throws (a full or read-only --out) is a failed launch with the line. */
  async launch(executor: Executor, request: LaunchRequest): Promise<LaunchResult> {
    try {
      return await executor.launch(request);
    } catch (err) {
      const line = faultLine(err, { path: request.config.outDir, flag: '--out' });
      if (line !== null) this.first ??= line;
      return faultedLaunch(line ?? (err instanceof Error ? err.message : String(err)));
    }
  }

  /** A trainer that died of a full or read-only --out: failed with the fault's line, not retried. */
  childVerdict(verdict: Verdict, outDir: string): Verdict {
    const line = verdict.retry ? childIoFault(verdict.error, outDir) : null;
    if (line === null) return verdict;
    this.first ??= line;
    return { ...verdict, reason: line, retry: false };
  }
}
