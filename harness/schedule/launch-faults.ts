// What the scheduler does with a launch that cannot be stored exactly: an executor that threw
// (a full or read-only --out: the run could not even start) becomes an ordinary failed launch
// with the fault's one line; a checkpoint ahead of the stored events is set aside so that the
// next launch starts from a point whose events the store holds (an earlier checkpoint, or the
// start: event-accounting.ts then drops every row of the run).
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { LaunchResult } from './executor.ts';

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
