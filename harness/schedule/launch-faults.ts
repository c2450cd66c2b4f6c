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
 * Moves the run's own checkpoints (last.ckpt, and prev.ckpt, which the trainer falls back to and
 * which the lost child may have rotated ahead too) to <name>.unrecorded-<step>, kept for
 * inspection; returns the new paths (empty when there were none). The next launch then starts
 * from stage 1's checkpoint or the start, points whose events the store holds.
 */
export function setAsideCheckpoints(outDir: string, step: number): string[] {
  const moved: string[] = [];
  for (const name of ['last.ckpt', 'prev.ckpt']) {
    const path = join(outDir, name);
    if (!existsSync(path)) continue;
    renameSync(path, `${path}.unrecorded-${step}`);
    moved.push(`${path}.unrecorded-${step}`);
  }
  return moved;
}

/** What to do with a launch that resumed ahead of the stored events: launch again (the note says why), or fail. */
export type AheadOutcome = { again: string } | { failed: string };

/**
 * Sets the ahead checkpoint aside so the next launch starts from a stored point; fails the run
 * when it cannot (the fault's line), or when the trainer resumed from some other file than
 * its own checkpoints, or when the checkpoints were set aside twice already and it is ahead
 * again (never a loop): the user removes them. time: the how-many-th ahead launch of this turn.
 */
export function handleAhead(
  faults: SweepFaults, store: Store, runId: string, outDir: string, ahead: { step: number; recorded: number }, time: number,
): AheadOutcome {
  const { step, recorded } = ahead;
  if (time > 2) return failAhead(faults, store, runId, `it resumed ahead of its stored events again (step ${step}, stored through ${recorded}) after its checkpoints were set aside: remove the checkpoints in ${outDir} and rerun`);
  let aside: string[];
  try {
    aside = setAsideCheckpoints(outDir, step);
  } catch (err) {
    return { failed: faults.failRun(runId, err, { path: outDir, flag: '--out' }) };
  }
  if (aside.length === 0) {
    return failAhead(faults, store, runId, `it resumed from a checkpoint at step ${step}, ahead of its stored events (through step ${recorded}), that is not its own last.ckpt or prev.ckpt in ${outDir}: remove that checkpoint and rerun`);
  }
  return { again: `its checkpoint at step ${step} is ahead of the stored events (through step ${recorded}); set aside as ${aside.join(', ')}, starting again from a stored point` };
}

function failAhead(faults: SweepFaults, store: Store, runId: string, reason: string): AheadOutcome {
  faults.guarded(() => store.finishRun(runId, { status: 'failed', reason }));
  return { failed: reason };
}
