// Runs each training as one Slurm batch job. The job starts the same trainer child with the
// same config as the local executor; the child's events and logs land in the run's folder on
// the shared filesystem, and this executor follows them from there (from a stored byte offset,
// so nothing is stored twice), asking squeue for the job's state. The cluster is the scheduler:
// a stage 2 is submitted with --dependency=afterok:<its stage 1's job> and Slurm holds it.
//
// A job ended by its time limit (when the user set one for the cluster), a node failure or
// preemption is submitted again with resume: true, up to `retries` times; Slurm's own requeue
// (same job id) resumes the same way inside the batch script.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT, type TrainEvent } from '../../contract/protocol.ts';
import { type RunConfig } from '../../contract/config.ts';
import { UserError } from '../../contract/errors.ts';
import type { Executor, JobRef, LaunchRequest, LaunchResult, Slot } from '../executor.ts';
import { REPO_ROOT, TRAINER_ENTRY } from '../repo-root.ts';
import { clusterAnswers, isActive, queryJobs, sbatch, sbatchRefusal, scancel, SlurmCommandError, type JobInfo } from './commands.ts';
import { parseSlurmOptions, type SlurmOptions, type SlurmOptionsInput } from '../../contract/slurm-options.ts';
import { resourceArgs } from './options.ts';
import { eventsSize, findRecordAbove, readEventsSince, readJobRecord, writeJobRecord, type JobRecord } from './job-file.ts';
import {
  batchScript,
  CONFIG_FILE,
  exitFile,
  identityArgs,
  LOG_FILE,
  RESUME_CONFIG_FILE,
  type BatchJob,
} from './script.ts';


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

/** Job states after which the run continues from its checkpoint in a new job. */
const RESUMABLE = new Set(['timeout', 'node-fail', 'preempted']);

const TAIL_BYTES = 4000;

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
  /** Job-state questions waiting for the next squeue call. */
  private readonly asking = new Map<string, { resolve: (info: JobInfo) => void; reject: (err: unknown) => void }[]>();
  private readonly wakers = new WeakMap<AbortSignal, Set<() => void>>();

  constructor(options: SlurmExecutorOptions = {}) {
    const { command, repoRoot, detach, exitFileWaitMs, ...slurm } = options;
    this.options = parseSlurmOptions(slurm);
    this.repoRoot = repoRoot ?? REPO_ROOT;
    this.command = command ?? [this.options.node, '--import', 'tsx', TRAINER_ENTRY];
    this.detach = detach ?? false;
    this.exitFileWaitMs = exitFileWaitMs ?? 15_000;
  }

  /** After this, aborting a launch leaves its job queued or running (Ctrl-C, "leave them running"). */
  leaveRunning(): void {
    this.leaving = true;
  }

  async launch(req: SlurmLaunchRequest): Promise<SlurmLaunchResult> {
    const started = performance.now();
    const outDir = req.config.outDir;
    mkdirSync(outDir, { recursive: true });
    this.writeConfigs(req.config);

    const earlier = this.attachable(req.runId, outDir, await this.knownJob(readJobRecord(outDir)));
    if (earlier) this.note(outDir, `reattached to slurm job ${earlier.jobId}`);
    let record: JobRecord;
    try {
      record = earlier ?? (await this.submit(req, outDir, req.config, this.dependencyFor(req), readJobRecord(outDir)?.submissions ?? 0));
    } catch (err) {
      if (!(err instanceof SlurmCommandError)) throw err;
      // The cluster refused the job (bad partition, no such GRES, over a limit): the run fails to start.
      return this.refused(outDir, err, started);
    }
    req.onJob(record.jobId);

    const result = (fields: Partial<SlurmLaunchResult>): SlurmLaunchResult => ({
      exitCode: null,
      signal: null,
      timedOut: false,
      cancelled: false,
      launchError: null,
      stderrTail: tail(join(outDir, LOG_FILE)),
      logPath: join(outDir, LOG_FILE),
      durationMs: performance.now() - started,
      jobId: record.jobId,
      jobState: null,
      submissions: record.submissions,
      detached: false,
      ...fields,
    });
    if (this.detach) return result({ detached: true, jobState: 'SUBMITTED' });

    let cancelRequested = false;
    let runningSince: number | null = null;
    /** Resubmissions in this launch (a crash retry by the scheduler is a new launch with its own count). */
    let resumes = 0;
    for (;;) {
      record = this.drain(req.onEvent, outDir, record);
      if (req.signal.aborted && !cancelRequested) {
        if (this.leaving) return result({ detached: true, cancelled: true });
        cancelRequested = true;
        await scancel([record.jobId]);
      }
      const info = await this.jobState(record.jobId);
      if (info.phase === 'running' && runningSince === null) runningSince = performance.now();
      if (isActive(info.phase)) {
        if (info.reason === 'DependencyNeverSatisfied') {
          await scancel([record.jobId]);
          this.finishRecord(outDir, record);
          return result({
            jobState: info.state,
            launchError: `slurm job ${record.jobId} waited for a job that ended without success (${info.dependency ?? 'afterok'}); cancelled it`,
          });
        }
        // A harness timeout counts from the job's start, not from its time in the queue.
        if (req.timeoutMs !== null && runningSince !== null && performance.now() - runningSince > req.timeoutMs && !cancelRequested) {
          cancelRequested = true;
          await scancel([record.jobId]);
          const ended = await this.waitForEnd(record.jobId);
          record = this.drain(req.onEvent, outDir, record);
          this.finishRecord(outDir, record);
          return result({ timedOut: true, exitCode: this.exitCode(outDir, record.jobId, ended), jobState: ended.state });
        }
        await this.pause(req.signal, cancelRequested);
        continue;
      }

      // The job has ended: its last events and its exit file may still be on their way.
      const exitCode = await this.awaitExitCode(outDir, record.jobId, info);
      record = this.drain(req.onEvent, outDir, record);
      if (RESUMABLE.has(info.phase) && !cancelRequested && !(info.phase === 'timeout' && this.harnessTimeLimit(req))) {
        if (resumes < this.options.retries) {
          resumes++;
          this.note(outDir, `slurm job ${record.jobId} ended ${info.state}: resubmitting from the last checkpoint`);
          const resumed = { ...req.config, resume: true };
          this.writeConfigs(resumed);
          const previous = record.jobId;
          try {
            record = await this.submit(req, outDir, resumed, null, record.submissions);
          } catch (err) {
            if (!(err instanceof SlurmCommandError)) throw err;
            return this.refused(outDir, err, started);
          }
          await this.repointDependents(previous, record.jobId);
          req.onJob(record.jobId);
          runningSince = null;
          continue;
        }
      }
      this.finishRecord(outDir, record);
      return result({
        exitCode: exitCode ?? (info.phase === 'cancelled' ? EXIT.interrupted : null),
        signal: exitCode === null && info.signal ? `signal ${info.signal}` : null,
        timedOut: info.phase === 'timeout',
        cancelled: cancelRequested,
        jobState: info.state,
        launchError:
          exitCode === null && info.phase === 'unknown'
            ? `slurm job ${record.jobId} is no longer known to the cluster and left no exit code in ${outDir}`
            : null,
        stderrTail: [tail(join(outDir, LOG_FILE)), `slurm job ${record.jobId}: ${info.state}${info.reason ? ` (${info.reason})` : ''}`]
          .filter(Boolean)
          .join('\n'),
      });
    }
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
    let record = this.drain(onEvent, outDir, found.record, ongoing);
    if (ongoing) return null;
    // A job the cluster already lists as failed may still be flushing its exit file to a busy
    // (shared) filesystem: give the file the same grace as a followed launch does.
    const exitCode = found.info.phase === 'failed'
      ? await this.awaitExitCode(outDir, record.jobId, found.info)
      : this.exitCode(outDir, record.jobId, found.info);
    record = this.drain(onEvent, outDir, record);
    this.finishRecord(outDir, record);
    const resumable = RESUMABLE.has(found.info.phase) || found.info.phase === 'cancelled';
    return {
      exitCode: exitCode ?? (resumable ? EXIT.interrupted : null),
      signal: null,
      timedOut: false,
      cancelled: false,
      launchError: exitCode === null && !resumable ? `slurm job ${record.jobId} ended ${found.info.state} and left no exit code` : null,
      stderrTail: `${tail(join(outDir, LOG_FILE))}\nslurm job ${record.jobId}: ${found.info.state}`,
      logPath: join(outDir, LOG_FILE),
      durationMs: 0,
      jobId: record.jobId,
      jobState: found.info.state,
      submissions: record.submissions,
      detached: false,
    };
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

  private refused(outDir: string, err: SlurmCommandError, started: number): SlurmLaunchResult {
    this.note(outDir, `sbatch refused the job: ${err.stderr.trim()}`);
    return {
      exitCode: null,
      signal: null,
      timedOut: false,
      cancelled: false,
      launchError: err.message.split('\n')[0]!,
      stderrTail: err.stderr,
      logPath: join(outDir, LOG_FILE),
      durationMs: performance.now() - started,
      jobId: null,
      jobState: null,
      submissions: readJobRecord(outDir)?.submissions ?? 0,
      detached: false,
    };
  }

  async isAlive(job: JobRef): Promise<boolean> {
    if (!/^\d+$/.test(job.jobId)) return false;
    const info = await this.jobState(job.jobId);
    return isActive(info.phase);
  }

  /** scancel (the trainer gets SIGTERM and checkpoints), then waits until Slurm reports the job ended. */
  async stop(job: JobRef): Promise<void> {
    if (!(await this.isAlive(job))) return;
    await scancel([job.jobId]);
    await this.waitForEnd(job.jobId);
  }

  private writeConfigs(config: RunConfig): void {
    writeFileSync(join(config.outDir, CONFIG_FILE), JSON.stringify(config, null, 2));
    writeFileSync(join(config.outDir, RESUME_CONFIG_FILE), JSON.stringify({ ...config, resume: true }, null, 2));
  }

  private async knownJob(record: JobRecord | null): Promise<{ record: JobRecord; info: JobInfo } | null> {
    if (!record || record.finished) return null;
    const info = await this.jobState(record.jobId);
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

  private async submit(req: SlurmLaunchRequest, outDir: string, config: RunConfig, after: string | null, submissions: number): Promise<JobRecord> {
    const job: BatchJob = {
      runId: req.runId,
      name: config.name,
      outDir,
      repoRoot: this.repoRoot,
      command: this.command,
      // A local slot's GPU pinning means nothing on a cluster node: Slurm sets CUDA_VISIBLE_DEVICES.
      env: Object.fromEntries(Object.entries(req.slot.env).filter(([k]) => k !== 'CUDA_VISIBLE_DEVICES')),
    };
    // afterok on a job Slurm has forgotten is refused by sbatch: such a prerequisite ended long
    // ago, and the harness only launches a run whose prerequisite it did not see fail.
    const known = after ? await this.jobState(after) : null;
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
      offset: eventsSize(outDir),
      submissions: submissions + 1,
      submittedAt: new Date().toISOString(),
      finished: false,
    };
    writeJobRecord(outDir, record);
    this.note(outDir, `submitted slurm job ${jobId}${dependency ? ` (afterok:${dependency})` : ''}${config.resume ? ' (resume)' : ''}`);
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

  /**
   * Hands the events appended since the record's offset to the harness, then moves the offset;
   * with holdFinalDone, a done event that is the last one so far stays unread (see collect()).
   */
  private drain(onEvent: (event: TrainEvent) => void, outDir: string, record: JobRecord, holdFinalDone = false): JobRecord {
    const { events, offset } = readEventsSince(outDir, record.offset, holdFinalDone);
    if (offset === record.offset) return record;
    for (const event of events) onEvent(event);
    const next = { ...record, offset };
    writeJobRecord(outDir, next);
    return next;
  }

  private finishRecord(outDir: string, record: JobRecord): void {
    writeJobRecord(outDir, { ...record, finished: true });
  }

  private exitCode(outDir: string, jobId: string, info: JobInfo): number | null {
    const path = exitFile(outDir, jobId);
    if (existsSync(path)) {
      const code = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(code)) return code;
    }
    // Without the file (the script was killed), Slurm's own exit code is the next best.
    return info.phase === 'completed' ? 0 : null;
  }

  private async awaitExitCode(outDir: string, jobId: string, info: JobInfo): Promise<number | null> {
    // Only a script that ran to its end writes the file; wait for it only then.
    const expectFile = info.phase === 'completed' || info.phase === 'failed' || info.phase === 'cancelled';
    const deadline = performance.now() + (expectFile ? this.exitFileWaitMs : 0);
    while (!existsSync(exitFile(outDir, jobId)) && performance.now() < deadline) await sleep(200);
    return this.exitCode(outDir, jobId, info);
  }

  private async waitForEnd(jobId: string, limitMs = 180_000): Promise<JobInfo> {
    const deadline = performance.now() + limitMs;
    for (;;) {
      const info = await this.jobState(jobId);
      if (!isActive(info.phase) || performance.now() > deadline) return info;
      await sleep(Math.min(this.options.pollMs, 1000));
    }
  }

  private harnessTimeLimit(req: LaunchRequest): boolean {
    return !this.options.time && req.timeoutMs !== null;
  }

  /**
   * One job's state. Every launch asks at the same moments (pause() wakes on multiples of
   * pollMs), and the questions asked in one tick go to the cluster as one squeue call.
   */
  private jobState(jobId: string): Promise<JobInfo> {
    return new Promise((resolve, reject) => {
      const first = this.asking.size === 0;
      this.asking.set(jobId, [...(this.asking.get(jobId) ?? []), { resolve, reject }]);
      if (!first) return;
      setTimeout(() => {
        const asked = new Map(this.asking);
        this.asking.clear();
        queryJobs([...asked.keys()]).then(
          (found) => asked.forEach((waiters, id) => waiters.forEach((w) => w.resolve(found.get(id)!))),
          (err: unknown) => asked.forEach((waiters) => waiters.forEach((w) => w.reject(err))),
        );
      }, 5);
    });
  }

  /** Waits until the next multiple of pollMs; an abort (Ctrl-C) cuts it short so the job is cancelled at once. */
  private async pause(signal: AbortSignal, cancelRequested: boolean): Promise<void> {
    const interval = cancelRequested ? Math.min(this.options.pollMs, 1000) : this.options.pollMs;
    const ms = interval - (Date.now() % interval);
    if (signal.aborted) return sleep(ms);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const wakers = this.wakers.get(signal) ?? this.listen(signal);
      wakers.add(done);
      function done(): void {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      }
    });
  }

  /** One abort listener per signal, however many launches wait on it. */
  private listen(signal: AbortSignal): Set<() => void> {
    const wakers = new Set<() => void>();
    this.wakers.set(signal, wakers);
    signal.addEventListener('abort', () => [...wakers].forEach((wake) => wake()), { once: true });
    return wakers;
  }

  private note(outDir: string, line: string): void {
    try {
      writeFileSync(join(outDir, LOG_FILE), `--- ${new Date().toISOString()} ${line}\n`, { flag: 'a' });
    } catch {
      // The log is for people; a failed note must not fail the run.
    }
  }
}

function tail(path: string): string {
  if (!existsSync(path)) return '';
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(size, TAIL_BYTES));
    const n = readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    return buffer.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Slots for a sweep on Slurm: the cluster places the jobs, so a slot is only a job in flight.
 * `count` bounds how many runs are queued or running at once (--max-parallel, else the sweep's size).
 */
export function slurmSlots(count: number): Slot[] {
  return Array.from({ length: Math.max(1, count) }, () => ({ name: 'slurm', kind: 'gpu' as const, env: {} }));
}
