// What a Slurm launch (or a look at a detached job) returns: the executor's LaunchResult with
// the job's id, state and submissions. One builder, so every way a launch ends fills the same
// fields the same way.
import type { LaunchRequest, LaunchResult } from '../executor.ts';
import type { JobRecord } from './job-file.ts';
import type { RunFolder } from './run-folder.ts';

export interface SlurmLaunchRequest extends LaunchRequest {
  /**
   * Hold the job until this Slurm job has succeeded (afterok). Undefined: for a stage 2, the job
   * recorded in the folder that holds its stage.from checkpoint, if Slurm still knows it.
   */
  after?: string | null;
}

export interface SlurmLaunchResult extends LaunchResult {
  /** The last job of this launch. */
  jobId: string | null;
  /** Slurm's last state of that job: COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, ... */
  jobState: string | null;
  /** Jobs submitted for the run so far (all launches), requeues by Slurm not counted. */
  submissions: number;
  /** The job was left queued or running (detach, or the user chose to leave jobs running). */
  detached: boolean;
}

/** A result for the job of `record` (null: none was submitted); `fields` say how it ended. */
export function slurmResult(folder: RunFolder, started: number, record: Pick<JobRecord, 'jobId' | 'submissions'> | null, fields: Partial<SlurmLaunchResult>): SlurmLaunchResult {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    cancelled: false,
    launchError: null,
    stderrTail: folder.tail(),
    logPath: folder.logPath,
    durationMs: performance.now() - started,
    jobId: record?.jobId ?? null,
    jobState: null,
    submissions: record?.submissions ?? 0,
    detached: false,
    ...fields,
  };
}
