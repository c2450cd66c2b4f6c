// What the scheduler does with a launch that cannot be stored exactly: an executor that threw
// (a full or read-only --out: the run could not even start) becomes an ordinary failed launch
// with the fault's one line; a checkpoint ahead of the stored events is set aside so that the
// next launch starts from a point whose events the store holds (an earlier checkpoint, or the
// start: event-accounting.ts then drops every row of the run).
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/store.ts';
import type { LaunchResult } from './executor.ts';
import type { SweepFaults } from './sweep-faults.ts';

/** The result of a launch the executor could not make: failed, not retried, with why. */
export function faultedLaunch(line: string): LaunchResult {
  return { exitCode: null, signal: null, timedOut: false, cancelled: false, launchError: line, stderrTail: '', logPath: null, durationMs: 0 };
}

/**
 * Moves the run's last.ckpt (written at `step` by a child whose events were lost) to
 * last.ckpt.unrecorded-<step>, kept for inspection; returns the new path, or null if none.
 */
export function setAsideCheckpoint(outDir: string, step: number): string | null {
  const path = join(outDir, 'last.ckpt');
  if (!existsSync(path)) return null;
  const aside = `${path}.unrecorded-${step}`;
  renameSync(path, aside);
  return aside;
}

/** What to do with a launch that resumed ahead of the stored events: launch again (the note says why), or fail. */
export type AheadOutcome = { again: string } | { failed: string };

/**
 * Sets the ahead checkpoint aside so the next launch starts from a stored point; fails the run
 * when it cannot (the fault's line), or when the trainer resumed from some other file than
 * last.ckpt (the user removes it).
 */
export function handleAhead(faults: SweepFaults, store: Store, runId: string, outDir: string, ahead: { step: number; recorded: number }): AheadOutcome {
  const { step, recorded } = ahead;
  let aside: string | null;
  try {
    aside = setAsideCheckpoint(outDir, step);
  } catch (err) {
    return { failed: faults.failRun(runId, err, { path: outDir, flag: '--out' }) };
  }
  if (aside === null) {
    const reason = `it resumed from a checkpoint at step ${step}, ahead of its stored events (through step ${recorded}), that is not ${outDir}/last.ckpt: remove that checkpoint and rerun`;
    faults.guarded(() => store.finishRun(runId, { status: 'failed', reason }));
    return { failed: reason };
  }
  return { again: `its checkpoint at step ${step} is ahead of the stored events (through step ${recorded}); set aside as ${aside}, starting again from a stored point` };
}
