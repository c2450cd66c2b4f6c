// Where a run's child runs is the executor's business alone: the scheduler hands it a config
// and a slot, and gets back the child's events as they arrive and how the child ended.
// A local executor (child processes on this machine) exists; a Slurm one implements the same.
import type { RunConfig } from '../contract/config.ts';
import type { TrainEvent } from '../contract/protocol.ts';

/** One place a run can run: a GPU, a CPU core, a cluster allocation. */
export interface Slot {
  /** Short label shown in progress lines and stored as the run's device, e.g. 'cuda:0', 'cpu3'. */
  name: string;
  kind: 'gpu' | 'cpu';
  /** Environment the child gets on this slot (CUDA_VISIBLE_DEVICES, BLAS thread counts). */
  env: Record<string, string>;
}

export interface LaunchRequest {
  runId: string;
  /** The config the child reads; its outDir is the run's folder (config.json, train.log live there). */
  config: RunConfig;
  slot: Slot;
  /** Wall-clock limit for this attempt; null = none. */
  timeoutMs: number | null;
  /** Aborting it asks the child to stop (SIGTERM locally): it checkpoints and exits as interrupted. */
  signal: AbortSignal;
  /** Called for each protocol event, in order, as soon as the child prints it. */
  onEvent: (event: TrainEvent) => void;
  /** Called once the executor knows the job's handle (a pid, a Slurm job id). */
  onJob: (jobId: string) => void;
  /**
   * Only for an executor that holdsDependencies: hold this run until that job has succeeded
   * (the scheduler hands a stage 2 over while its stage 1 still runs).
   */
  after?: string | null;
}

export interface LaunchResult {
  /** The child's exit code, or null when it died by a signal or never started. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The request's signal was aborted before the child ended. */
  cancelled: boolean;
  /** The child could not be started at all (the message says why). */
  launchError: string | null;
  /** The last lines the child wrote to stderr, for a failed run's error column. */
  stderrTail: string;
  /** Where the child's stderr went. */
  logPath: string | null;
  durationMs: number;
}

/** A job left behind by a harness that died: enough to find and stop it. */
export interface JobRef {
  jobId: string;
  runDir: string;
}

export interface Executor {
  /** Stored as the run's executor: 'local', 'slurm'. */
  readonly name: string;
  /**
   * The executor's cluster holds a run until its prerequisite's job has succeeded (Slurm's
   * afterok): the scheduler may launch a stage 2 as soon as its stage 1 has a job id.
   */
  readonly holdsDependencies?: boolean;
  /**
   * Launching a run whose job (left by an earlier harness) is still alive follows that job
   * instead of starting it again: an orphan's live job is left running, not stopped.
   */
  readonly reattaches?: boolean;
  launch(request: LaunchRequest): Promise<LaunchResult>;
  /** Whether a job started by an earlier harness process is still running. */
  isAlive(job: JobRef): Promise<boolean>;
  /** Stops such a job (politely, then for sure) and resolves once it is gone. */
  stop(job: JobRef): Promise<void>;
  /**
   * Ends such a job at once, with no chance to write anything more (an orphan whose harness is
   * gone: its events can no longer be stored, so it must not checkpoint past them). Executors
   * without it are stopped with stop().
   */
  kill?(job: JobRef): Promise<void>;
}
