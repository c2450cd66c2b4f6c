// The Slurm command-line tools the executor talks to: sbatch, squeue, scancel (and sacct
// where the cluster keeps accounting). Nothing here knows about runs.
import { execa } from 'execa';

/** Where a job is in its life, reduced to what the executor acts on. */
export type JobPhase =
  | 'queued' // waiting: pending, held, requeued, waiting for a dependency
  | 'running' // started (includes completing and suspended)
  | 'completed' // the batch script exited 0
  | 'failed' // the batch script exited non-zero
  | 'cancelled' // scancel (by the user or the harness)
  | 'timeout' // killed at its time limit
  | 'node-fail' // its node failed
  | 'preempted' // a higher-priority job took its resources
  | 'out-of-memory'
  | 'unknown'; // Slurm no longer knows the job (purged, no accounting) or a state we do not model

export interface JobInfo {
  jobId: string;
  /** Slurm's own state name, e.g. PENDING, RUNNING, NODE_FAIL. */
  state: string;
  phase: JobPhase;
  /** Why a pending job waits (e.g. Dependency, Priority, DependencyNeverSatisfied); null when none. */
  reason: string | null;
  /** How many times Slurm requeued the job (it keeps its id). */
  restarts: number;
  /** The batch script's exit status, when the job has ended and Slurm still reports it. */
  exitCode: number | null;
  /** The signal that ended the batch script, or 0. */
  signal: number | null;
  /** Dependency expression still pending, e.g. 'afterok:12(unfulfilled)'; null when none. */
  dependency: string | null;
  /** The comment given at submission (the harness puts the run id there). */
  comment: string | null;
  name: string | null;
}

const ACTIVE_STATES: Record<string, JobPhase> = {
  PENDING: 'queued',
  REQUEUED: 'queued',
  REQUEUE_HOLD: 'queued',
  REQUEUE_FED: 'queued',
  RESV_DEL_HOLD: 'queued',
  SPECIAL_EXIT: 'queued',
  CONFIGURING: 'running',
  RUNNING: 'running',
  COMPLETING: 'running',
  SUSPENDED: 'running',
  RESIZING: 'running',
  SIGNALING: 'running',
  STAGE_OUT: 'running',
  STOPPED: 'running',
};
const FINAL_STATES: Record<string, JobPhase> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  BOOT_FAIL: 'node-fail',
  CANCELLED: 'cancelled',
  DEADLINE: 'timeout',
  TIMEOUT: 'timeout',
  NODE_FAIL: 'node-fail',
  PREEMPTED: 'preempted',
  OUT_OF_MEMORY: 'out-of-memory',
  REVOKED: 'cancelled',
};

/** Maps a Slurm state name (as squeue, scontrol or sacct print it, e.g. 'CANCELLED by 0') to a phase. */
export function jobPhase(state: string): JobPhase {
  const word = state.trim().split(/[\s+]/)[0]!.toUpperCase();
  return ACTIVE_STATES[word] ?? FINAL_STATES[word] ?? 'unknown';
}

/** True while the job may still run (the executor keeps following it). */
export function isActive(phase: JobPhase): boolean {
  return phase === 'queued' || phase === 'running';
}

/** A Slurm command failed; its stderr is the message (e.g. sbatch's reason for refusing a job). */
export class SlurmCommandError extends Error {
  override name = 'SlurmCommandError';
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly exitCode: number | undefined,
  ) {
    super(`${command}: ${stderr.trim() || `exit code ${exitCode ?? 'unknown'}`}`);
  }
}

async function runTool(cmd: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  try {
    const result = await execa(cmd, args, { input, reject: false, timeout: 60_000 });
    if (result.failed && result.exitCode === undefined) {
      throw new SlurmCommandError(cmd, String(result.stderr || result.message || 'failed to start'), undefined);
    }
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? 1 };
  } catch (err) {
    if (err instanceof SlurmCommandError) throw err;
    throw new SlurmCommandError(cmd, (err as Error).message, undefined);
  }
}

/** True when the Slurm client tools are installed and the controller answers. */
export async function clusterAnswers(): Promise<boolean> {
  try {
    const result = await runTool('sinfo', ['-h', '-o', '%P']);
    return result.exitCode === 0 && result.stdout.trim().length > 0;
  } catch {
    return false;
  }
}

/** Submits a batch script (given on stdin, so nothing is left behind); returns the job id. */
export async function sbatch(args: readonly string[], script: string): Promise<string> {
  const result = await runTool('sbatch', ['--parsable', ...args], script);
  if (result.exitCode !== 0) throw new SlurmCommandError('sbatch', result.stderr, result.exitCode);
  // --parsable prints "<id>" or "<id>;<cluster>".
  const id = result.stdout.trim().split(/[;\s]/)[0] ?? '';
  if (!/^\d+$/.test(id)) throw new SlurmCommandError('sbatch', `unexpected output '${result.stdout.trim()}'`, result.exitCode);
  return id;
}

/**
 * Asks sbatch whether a job with these arguments could run (`--test-only`: nothing is
 * submitted). Returns null when it could, else sbatch's reason in one line.
 */
export async function sbatchRefusal(args: readonly string[]): Promise<string | null> {
  const result = await runTool('sbatch', ['--test-only', ...args, '--wrap=true']);
  if (result.exitCode === 0) return null;
  const lines = result.stderr.split('\n').map((l) => l.replace(/^sbatch: error: /, '').trim()).filter(Boolean);
  return lines[0] ?? `sbatch --test-only exited ${result.exitCode}`;
}

/** Cancels jobs; ids Slurm no longer knows are not an error. */
export async function scancel(jobIds: readonly string[], signal?: string): Promise<void> {
  if (jobIds.length === 0) return;
  const args = signal ? ['--signal', signal, '--full', ...jobIds] : [...jobIds];
  const result = await runTool('scancel', args);
  if (result.exitCode !== 0 && !/invalid job id|already completing or completed/i.test(result.stderr)) {
    throw new SlurmCommandError('scancel', result.stderr, result.exitCode);
  }
}

const SQUEUE_FIELDS = ['JobID', 'State', 'Reason', 'RestartCnt', 'exit_code', 'Dependency', 'Name', 'Comment'];

function nullIfNone(value: string | undefined): string | null {
  if (value === undefined || value === '' || value === '(null)' || value === 'None') return null;
  return value;
}

/** Parses one line of `squeue -O JobID:|,State:|,...` (the fields of SQUEUE_FIELDS, '|'-separated, comment last). */
export function parseSqueueLine(line: string): JobInfo | null {
  // Every field, the last one too, is followed by its '|' suffix.
  const parts = line.trimEnd().replace(/\|$/, '').split('|');
  if (parts.length < SQUEUE_FIELDS.length) return null;
  const [jobId, state, reason, restarts, status, dependency, name] = parts.map((p) => p.trim());
  // The comment is free text and may itself contain '|'.
  const comment = parts.slice(SQUEUE_FIELDS.length - 1).join('|').trim();
  if (!jobId || !state || !/^\d+$/.test(jobId)) return null;
  const phase = jobPhase(state);
  // squeue prints the raw wait status of the batch script: exit code in the high byte, signal low.
  const raw = Number(status);
  const ended = !isActive(phase) && Number.isFinite(raw);
  return {
    jobId,
    state,
    phase,
    reason: nullIfNone(reason),
    restarts: Number(restarts) || 0,
    exitCode: ended ? (raw >> 8) & 0xff : null,
    signal: ended ? raw & 0x7f : null,
    dependency: nullIfNone(dependency),
    comment: nullIfNone(comment),
    name: nullIfNone(name),
  };
}

/** What the controller reports for these jobs; it keeps finished ones for MinJobAge seconds. */
export async function squeueJobs(jobIds: readonly string[]): Promise<Map<string, JobInfo>> {
  const found = new Map<string, JobInfo>();
  if (jobIds.length === 0) return found;
  const format = SQUEUE_FIELDS.map((f) => `${f}:|`).join(',');
  const result = await runTool('squeue', ['-h', '-t', 'all', '-j', jobIds.join(','), '-O', format]);
  // With no id it still knows, squeue exits non-zero ("Invalid job id"): that is an empty answer.
  if (result.exitCode !== 0 && !/invalid job id/i.test(result.stderr)) {
    throw new SlurmCommandError('squeue', result.stderr, result.exitCode);
  }
  for (const line of result.stdout.split('\n')) {
    const info = parseSqueueLine(line);
    if (info && jobIds.includes(info.jobId)) found.set(info.jobId, info);
  }
  return found;
}

/** Final states from sacct, for clusters with accounting; an empty map where sacct does not work. */
export async function sacctJobs(jobIds: readonly string[]): Promise<Map<string, JobInfo>> {
  const found = new Map<string, JobInfo>();
  if (jobIds.length === 0) return found;
  let result;
  try {
    result = await runTool('sacct', ['-n', '-P', '-X', '-j', jobIds.join(','), '-o', 'JobIDRaw,State,ExitCode,JobName']);
  } catch {
    return found;
  }
  if (result.exitCode !== 0) return found;
  for (const line of result.stdout.split('\n')) {
    const [jobId, state, exit, name] = line.split('|');
    if (!jobId || !state || !jobIds.includes(jobId)) continue;
    const [code, signal] = (exit ?? '').split(':');
    found.set(jobId, {
      jobId,
      state,
      phase: jobPhase(state),
      reason: null,
      restarts: 0,
      exitCode: code ? Number(code) : null,
      signal: signal ? Number(signal) : null,
      dependency: null,
      comment: null,
      name: name ?? null,
    });
  }
  return found;
}

/**
 * The state of each job, in one squeue call for all of them; sacct (where the cluster keeps
 * accounting) for those the controller has forgotten. An id nobody knows maps to 'unknown'.
 */
export async function queryJobs(jobIds: readonly string[]): Promise<Map<string, JobInfo>> {
  const ids = [...new Set(jobIds)];
  const found = await squeueJobs(ids);
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) {
    for (const [id, info] of await sacctJobs(missing)) found.set(id, info);
  }
  for (const id of ids) {
    if (!found.has(id)) {
      found.set(id, { jobId: id, state: 'UNKNOWN', phase: 'unknown', reason: null, restarts: 0, exitCode: null, signal: null, dependency: null, comment: null, name: null });
    }
  }
  return found;
}
