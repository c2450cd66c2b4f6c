// Following one run's Slurm job to its end: hand over the events it appends, ask squeue for
// its state each poll, cancel it on Ctrl-C (or leave it running), stop it at the harness's
// timeout, submit it again from its checkpoint after a time limit / node failure /
// preemption, and build the launch's result once it has ended.
import { EXIT } from '../../contract/protocol.ts';
import { isActive, scancel, type JobInfo } from './commands.ts';
import type { JobRecord } from './job-file.ts';
import type { JobWatch } from './job-watch.ts';
import { slurmResult, type SlurmLaunchRequest, type SlurmLaunchResult } from './result.ts';
import type { RunFolder } from './run-folder.ts';

/** Job states after which the run continues from its checkpoint in a new job. */
export const RESUMABLE = new Set(['timeout', 'node-fail', 'preempted']);

export interface FollowContext {
  req: SlurmLaunchRequest;
  folder: RunFolder;
  watch: JobWatch;
  started: number;
  /** Resubmissions allowed in this launch (a crash retry by the scheduler is a new launch). */
  retries: number;
  /** The harness, not the cluster, sets the time limit (--timeout without a Slurm --time). */
  harnessTimeLimit: boolean;
  /** The user chose to leave the jobs running: an abort returns without cancelling. */
  leaving: () => boolean;
  /** Submits the run again with resume: true; a result when sbatch refused it. */
  resubmit: (record: JobRecord, info: JobInfo) => Promise<JobRecord | SlurmLaunchResult>;
}

export class JobFollower {
  private cancelRequested = false;
  private runningSince: number | null = null;
  private resumes = 0;

  constructor(private readonly ctx: FollowContext, private record: JobRecord) {}

  async follow(): Promise<SlurmLaunchResult> {
    const { req, folder, watch } = this.ctx;
    for (;;) {
      this.record = folder.drain(req.onEvent, this.record);
      if (req.signal.aborted && !this.cancelRequested) {
        if (this.ctx.leaving()) return this.result({ detached: true, cancelled: true });
        await this.cancel();
      }
      const info = await watch.jobState(this.record.jobId);
      if (info.phase === 'running' && this.runningSince === null) this.runningSince = performance.now();
      if (isActive(info.phase)) {
        const stopped = await this.whileActive(info);
        if (stopped) return stopped;
        await watch.pause(req.signal, this.cancelRequested);
        continue;
      }
      // The job has ended: its last events and its exit file may still be on their way.
      const exitCode = await folder.awaitExitCode(this.record.jobId, info);
      this.record = folder.drain(req.onEvent, this.record);
      if (!this.resumable(info)) return this.ended(info, exitCode);
      this.resumes++;
      const next = await this.ctx.resubmit(this.record, info);
      if ('exitCode' in next) return next; // sbatch refused the resubmission
      this.record = next;
      this.runningSince = null;
    }
  }

  /** A queued or running job that must stop now: its dependency can never be met, or the harness's timeout passed. */
  private async whileActive(info: JobInfo): Promise<SlurmLaunchResult | null> {
    const { req, folder, watch } = this.ctx;
    const jobId = this.record.jobId;
    if (info.reason === 'DependencyNeverSatisfied') {
      await scancel([jobId]);
      folder.finish(this.record);
      const launchError = `slurm job ${jobId} waited for a job that ended without success (${info.dependency ?? 'afterok'}); cancelled it`;
      return this.result({ jobState: info.state, launchError });
    }
    // A harness timeout counts from the job's start, not from its time in the queue.
    const overdue = req.timeoutMs !== null && this.runningSince !== null && performance.now() - this.runningSince > req.timeoutMs;
    if (!overdue || this.cancelRequested) return null;
    await this.cancel();
    const ended = await watch.waitForEnd(jobId);
    this.record = folder.drain(req.onEvent, this.record);
    folder.finish(this.record);
    return this.result({ timedOut: true, exitCode: folder.exitCode(jobId, ended), jobState: ended.state });
  }

  private resumable(info: JobInfo): boolean {
    if (!RESUMABLE.has(info.phase) || this.cancelRequested) return false;
    if (info.phase === 'timeout' && this.ctx.harnessTimeLimit) return false;
    return this.resumes < this.ctx.retries;
  }

  /** The job ended for good: its exit code (the file it wrote, else Slurm's word) and state. */
  private ended(info: JobInfo, exitCode: number | null): SlurmLaunchResult {
    const { folder } = this.ctx;
    const jobId = this.record.jobId;
    folder.finish(this.record);
    const lost = exitCode === null && info.phase === 'unknown';
    return this.result({
      exitCode: exitCode ?? (info.phase === 'cancelled' ? EXIT.interrupted : null),
      signal: exitCode === null && info.signal ? `signal ${info.signal}` : null,
      timedOut: info.phase === 'timeout',
      cancelled: this.cancelRequested,
      jobState: info.state,
      launchError: lost ? `slurm job ${jobId} is no longer known to the cluster and left no exit code in ${folder.outDir}` : null,
      stderrTail: [folder.tail(), `slurm job ${jobId}: ${info.state}${info.reason ? ` (${info.reason})` : ''}`].filter(Boolean).join('\n'),
    });
  }

  private async cancel(): Promise<void> {
    this.cancelRequested = true;
    await scancel([this.record.jobId]);
  }

  private result(fields: Partial<SlurmLaunchResult>): SlurmLaunchResult {
    return slurmResult(this.ctx.folder, this.ctx.started, this.record, fields);
  }
}
