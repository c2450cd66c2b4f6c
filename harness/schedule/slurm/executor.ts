// Runs each training as one Slurm batch job. The job starts the same trainer child with the
// same config as the local executor; the child's events and logs land in the run's folder on
// the shared filesystem, and this executor follows them from there (from a stored byte offset,
// so nothing is stored twice), asking squeue for the job's state. The cluster is the scheduler:
// a stage 2 is submitted with --dependency=afterok:<its stage 1's job> and Slurm holds it.
//
// A job ended by its time limit (when the user set one for the cluster), a node failure or
// preemption is submitted again with resume: true, up to `retries` times; Slurm's own requeue
// (same job id) resumes the same way inside the batch script.
import { existsSync, mkdirSync } from 'node:fs';
import { EXIT, type TrainEvent } from '../../contract/protocol.ts';
import { type RunConfig } from '../../contract/config.ts';
import { UserError } from '../../contract/errors.ts';
import type { Executor, JobRef, Slot } from '../executor.ts';
import { REPO_ROOT, TRAINER_ENTRY } from '../repo-root.ts';
import { clusterAnswers, isActive, sbatch, sbatchRefusal, scancel, SlurmCommandError, type JobInfo } from './commands.ts';
import { parseSlurmOptions, type SlurmOptions, type SlurmOptionsInput } from '../../contract/slurm-options.ts';
import { resourceArgs } from './options.ts';
import { eventsSize, findRecordAbove, readJobRecord, writeJobRecord, type JobRecord } from './job-file.ts';
import { batchScript, exitFile, identityArgs, type BatchJob } from './script.ts';
import { JobFollower, RESUMABLE } from './follow.ts';
import { JobWatch } from './job-watch.ts';
import { slurmResult, type SlurmLaunchRequest, type SlurmLaunchResult } from './result.ts';
import { RunFolder } from './run-folder.ts';

export type { SlurmLaunchRequest, SlurmLaunchResult } from './result.ts';

/** How long a submitted job may be missing from squeue before it counts as lost (ms). */
const UNLISTED_GRACE_MS = 5 * 60_000;
export interface SlurmExecutorOptions extends SlurmOptionsInput {
  /** The child command before its config path; default: <node> --import tsx <repo>/harness/train/main.ts. */
  command?: string[];
  /** Absolute repository root on the shared filesystem (the job's working directory). */
  repoRoot?: string;
  /** Submit and return at once (result.detached); a later harness reattaches through the job record. */
  detach?: boolean;
  /** How long to wait, after a job ends, for its exit file to appear on a slow shared filesystem (ms). */
  exitFileWaitMs?: number;
}

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  /** A scheduler may hand a stage 2 over as soon as its stage 1 has a job id: Slurm holds it (afterok). */
  readonly holdsDependencies = true;
  /** Launching a run whose job is still queued or running follows that job instead of submitting again. */
  readonly reattaches = true;
  readonly options: SlurmOptions;
  private readonly command: string[];
  private readonly repoRoot: string;
  private readonly detach: boolean;
  private readonly exitFileWaitMs: number;
  /** Set by leaveRunning(): an aborted launch then returns without cancelling its job. */
  private leaving = false;
  /** Jobs held on another job (afterok): re-pointed when that run is submitted again. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly watch: JobWatch;

  constructor(options: SlurmExecutorOptions = {}) {
    const { command, repoRoot, detach, exitFileWaitMs, ...slurm } = options;
    this.options = parseSlurmOptions(slurm);
    this.repoRoot = repoRoot ?? REPO_ROOT;
    this.command = command ?? [this.options.node, '--import', 'tsx', TRAINER_ENTRY];
    this.detach = detach ?? false;
    this.exitFileWaitMs = exitFileWaitMs ?? 15_000;
    this.watch = new JobWatch(this.options.pollMs);
  }

  /** After this, aborting a launch leaves its job queued or running (Ctrl-C, "leave them running"). */
  leaveRunning(): void {
    this.leaving = true;
  }

  async launch(req: SlurmLaunchRequest): Promise<SlurmLaunchResult> {
    const started = performance.now();
    const folder = this.folderOf(req.config.outDir);
    mkdirSync(folder.outDir, { recursive: true });
    folder.writeConfigs(req.config);
    const earlier = this.attachable(req.runId, folder.outDir, await this.knownJob(readJobRecord(folder.outDir)));
    if (earlier) folder.note(`reattached to slurm job ${earlier.jobId}`);
    let record: JobRecord;
    try {
      record = earlier ?? (await this.submit(req, folder, req.config, this.dependencyFor(req), readJobRecord(folder.outDir)?.submissions ?? 0));
    } catch (err) {
      if (!(err instanceof SlurmCommandError)) throw err;
      // The cluster refused the job (bad partition, no such GRES, over a limit): the run fails to start.
      return this.refused(folder, err, started);
    }
    req.onJob(record.jobId);
    if (this.detach) return slurmResult(folder, started, record, { detached: true, jobState: 'SUBMITTED' });
    const follower = new JobFollower({
      req,
      folder,
      watch: this.watch,
      started,
      retries: this.options.retries,
      harnessTimeLimit: !this.options.time && req.timeoutMs !== null,
      leaving: () => this.leaving,
      resubmit: (previous, info) => this.resubmit(req, folder, previous, info, started),
    }, record);
    return follower.follow();
  }

  /** A job ended by its time limit, a node failure or preemption: the same run again, from its checkpoint. */
  private async resubmit(req: SlurmLaunchRequest, folder: RunFolder, previous: JobRecord, info: JobInfo, started: number): Promise<JobRecord | SlurmLaunchResult> {
    folder.note(`slurm job ${previous.jobId} ended ${info.state}: resubmitting from the last checkpoint`);
    const resumed = { ...req.config, resume: true };
    folder.writeConfigs(resumed);
    let record: JobRecord;
    try {
      record = await this.submit(req, folder, resumed, null, previous.submissions);
    } catch (err) {
      if (!(err instanceof SlurmCommandError)) throw err;
      return this.refused(folder, err, started);
    }
    await this.repointDependents(previous.jobId, record.jobId);
    req.onJob(record.jobId);
    return record;
  }

  private folderOf(outDir: string): RunFolder {
    return new RunFolder(outDir, this.exitFileWaitMs);
  }

  /**
   * One look at a run's recorded job, without waiting and without submitting anything: hands
   * over the events written since the last look, and returns how the job ended, or null while
   * it is queued or running (or when the folder records no job of this run). A job stopped by
   * its time limit, a node failure or preemption comes back as interrupted: a rerun resumes it.
   */
  async collect(runId: string, outDir: string, onEvent: (event: TrainEvent) => void): Promise<SlurmLaunchResult | null> {
    const found = await this.knownJob(readJobRecord(outDir));
    if (!found || found.record.runId !== runId) return null;
    // A busy controller may not list a job it accepted moments ago: until its exit file shows
    // it ended, a job submitted in the last minutes is still on its way, not lost.
    const recent = Date.now() - Date.parse(found.record.submittedAt) < UNLISTED_GRACE_MS;
    const unlisted = found.info.phase === 'unknown' && recent && !existsSync(exitFile(outDir, found.record.jobId));
    const ongoing = isActive(found.info.phase) || unlisted;
    // Why the done event is held back while the job is ongoing: the trainer writes it before it
    // exits, so a look between that write and Slurm listing the job as ended would hand the done
    // over (and move the stored offset past it) while returning null. The caller keeps no state
    // between looks (a later look may be another process), so the look that finally sees the job
    // end would find no done event and store a completed run as "exited 0 without a done event".
    // Left unread, the done event comes with the look that also returns the job's result.
    const folder = this.folderOf(outDir);
    let record = folder.drain(onEvent, found.record, ongoing);
    if (ongoing) return null;
    // A job the cluster already lists as failed may still be flushing its exit file to a busy
    // (shared) filesystem: give the file the same grace as a followed launch does.
    const exitCode = found.info.phase === 'failed'
      ? await folder.awaitExitCode(record.jobId, found.info)
      : folder.exitCode(record.jobId, found.info);
    record = folder.drain(onEvent, record);
    folder.finish(record);
    const resumable = RESUMABLE.has(found.info.phase) || found.info.phase === 'cancelled';
    return slurmResult(folder, performance.now(), record, {
      exitCode: exitCode ?? (resumable ? EXIT.interrupted : null),
      launchError: exitCode === null && !resumable ? `slurm job ${record.jobId} ended ${found.info.state} and left no exit code` : null,
      stderrTail: `${folder.tail()}\nslurm job ${record.jobId}: ${found.info.state}`,
      jobState: found.info.state,
      durationMs: 0,
    });
  }

  /**
   * Checks the options against the cluster before anything is submitted (sbatch --test-only):
   * a bad partition, account, GRES or limit is a user mistake, reported in one line.
   */
  async checkOptions(): Promise<void> {
    if (!(await clusterAnswers())) {
      throw new UserError('--executor slurm: the Slurm controller does not answer (sinfo); run on a login node of the cluster (a test cluster: sudo scripts/slurm-cluster.sh)');
    }
    const refusal = await sbatchRefusal(resourceArgs(this.options));
    if (refusal) throw new UserError(`--executor slurm: the cluster refuses jobs with ${resourceArgs(this.options).join(' ') || 'no options'}: ${refusal}`);
  }

  private refused(folder: RunFolder, err: SlurmCommandError, started: number): SlurmLaunchResult {
    folder.note(`sbatch refused the job: ${err.stderr.trim()}`);
    const submissions = readJobRecord(folder.outDir)?.submissions ?? 0;
    return slurmResult(folder, started, null, { launchError: err.message.split('\n')[0]!, stderrTail: err.stderr, submissions });
  }

  async isAlive(job: JobRef): Promise<boolean> {
    if (!/^\d+$/.test(job.jobId)) return false;
    const info = await this.watch.jobState(job.jobId);
    return isActive(info.phase);
  }

  /** scancel (the trainer gets SIGTERM and checkpoints), then waits until Slurm reports the job ended. */
  async stop(job: JobRef): Promise<void> {
    if (!(await this.isAlive(job))) return;
    await scancel([job.jobId]);
    await this.watch.waitForEnd(job.jobId);
  }

  private async knownJob(record: JobRecord | null): Promise<{ record: JobRecord; info: JobInfo } | null> {
    if (!record || record.finished) return null;
    const info = await this.watch.jobState(record.jobId);
    return { record, info };
  }

  /**
   * The run's earlier job, when it belongs to this run and was never seen to the end: still
   * queued or running, or ended while no harness was watching (its events are read now).
   */
  private attachable(runId: string, outDir: string, known: { record: JobRecord; info: JobInfo } | null): JobRecord | null {
    if (!known || known.record.runId !== runId) return null;
    if (isActive(known.info.phase)) return known.record;
    const unread = known.record.offset < eventsSize(outDir);
    const exitKnown = existsSync(exitFile(outDir, known.record.jobId));
    return unread || exitKnown || known.info.phase !== 'unknown' ? known.record : null;
  }

  private dependencyFor(req: SlurmLaunchRequest): string | null {
    if (req.after !== undefined) return req.after;
    const from = req.config.stage.kind === 'stage2' ? req.config.stage.from : null;
    if (!from) return null;
    return findRecordAbove(from)?.jobId ?? null;
  }

  private async submit(req: SlurmLaunchRequest, folder: RunFolder, config: RunConfig, after: string | null, submissions: number): Promise<JobRecord> {
    const job: BatchJob = {
      runId: req.runId,
      name: config.name,
      outDir: folder.outDir,
      repoRoot: this.repoRoot,
      command: this.command,
      // A local slot's GPU pinning means nothing on a cluster node: Slurm sets CUDA_VISIBLE_DEVICES.
      env: Object.fromEntries(Object.entries(req.slot.env).filter(([k]) => k !== 'CUDA_VISIBLE_DEVICES')),
    };
    // afterok on a job Slurm has forgotten is refused by sbatch: such a prerequisite ended long
    // ago, and the harness only launches a run whose prerequisite it did not see fail.
    const known = after ? await this.watch.jobState(after) : null;
    const dependency = after && known && known.phase !== 'unknown' ? after : null;
    const args = [...identityArgs(job, dependency), ...resourceArgs(this.options)];
    if (!this.options.time && req.timeoutMs !== null) args.push(`--time=${Math.max(1, Math.ceil(req.timeoutMs / 60_000))}`);
    const jobId = await sbatch(args, batchScript(job));
    if (dependency) {
      const set = this.dependents.get(dependency) ?? new Set<string>();
      set.add(jobId);
      this.dependents.set(dependency, set);
    }
    const record: JobRecord = {
      runId: req.runId,
      jobId,
      // The new job's events start after everything earlier attempts wrote.
      offset: eventsSize(folder.outDir),
      submissions: submissions + 1,
      submittedAt: new Date().toISOString(),
      finished: false,
    };
    writeJobRecord(folder.outDir, record);
    folder.note(`submitted slurm job ${jobId}${dependency ? ` (afterok:${dependency})` : ''}${config.resume ? ' (resume)' : ''}`);
    return record;
  }

  /** Jobs waiting on a job that is being replaced now wait on its replacement. */
  private async repointDependents(previous: string, next: string): Promise<void> {
    const held = this.dependents.get(previous);
    if (!held) return;
    this.dependents.delete(previous);
    const { execa } = await import('execa');
    for (const jobId of held) {
      await execa('scontrol', ['update', `JobId=${jobId}`, `Dependency=afterok:${next}`], { reject: false });
    }
    this.dependents.set(next, held);
  }
}

/**
 * Slots for a sweep on Slurm: the cluster places the jobs, so a slot is only a job in flight.
 * `count` bounds how many runs are queued or running at once (--max-parallel, else the sweep's size).
 */
export function slurmSlots(count: number): Slot[] {
  return Array.from({ length: Math.max(1, count) }, () => ({ name: 'slurm', kind: 'gpu' as const, env: {} }));
}
