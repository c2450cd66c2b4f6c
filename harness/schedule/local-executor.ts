// Runs each training as a child process on this machine:
//   node --import tsx <trainer> <outDir>/config.json
// stdout is the JSON-lines protocol (decoded and handed on line by line), stderr goes to
// <outDir>/train.log. Cancelling sends SIGTERM (the trainer checkpoints and exits as
// interrupted); a child that ignores it is killed after killGraceMs.
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream';
import { execa } from 'execa';
import { decodeEvent } from '../contract/protocol.ts';
import type { Executor, JobRef, LaunchRequest, LaunchResult } from './executor.ts';
import { REPO_ROOT, TRAINER_ENTRY } from './repo-root.ts';
import { stopChild } from './stop-child.ts';

export interface LocalExecutorOptions {
  /** The trainer entry point (a .ts file run through tsx); default harness/train/main.ts. */
  trainer?: string;
  /** Milliseconds between SIGTERM and SIGKILL when a run is cancelled or times out. */
  killGraceMs?: number;
  /** Where a line about a slow or stopped child goes while it is being stopped (default stderr). */
  notice?: (line: string) => void;
}

const STDERR_TAIL_BYTES = 4000;

export class LocalExecutor implements Executor {
  readonly name = 'local';
  private readonly trainer: string;
  private readonly killGraceMs: number;
  private readonly notice: (line: string) => void;

  constructor(options: LocalExecutorOptions = {}) {
    this.trainer = options.trainer ?? TRAINER_ENTRY;
    this.killGraceMs = options.killGraceMs ?? 120_000;
    this.notice = options.notice ?? ((line) => process.stderr.write(`${line}\n`));
  }

  async launch(req: LaunchRequest): Promise<LaunchResult> {
    const outDir = req.config.outDir;
    mkdirSync(outDir, { recursive: true });
    const configPath = join(outDir, 'config.json');
    writeAtomically(configPath, JSON.stringify(req.config, null, 2));
    const logPath = join(outDir, 'train.log');
    const log = createWriteStream(logPath, { flags: 'a' });
    // A full disk fails the log's writes later, as an event: without a listener it would end the harness.
    log.on('error', () => {});
    log.write(`--- ${new Date().toISOString()} launch on ${req.slot.name}${req.config.resume ? ' (resume)' : ''}\n`);
    const started = performance.now();
    const child = this.start(req, configPath);
    if (child.pid !== undefined) req.onJob(String(child.pid));
    const stderr = keepStderr(child, log);
    const consumed = readEvents(child, log, req.onEvent);
    const result = await child;
    await consumed;
    await new Promise<void>((resolve) => finished(log.end(), () => resolve()));
    const launchError = result.exitCode === undefined && result.signal === undefined && result.failed ? result.message : null;
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      timedOut: result.timedOut,
      cancelled: result.isCanceled,
      launchError: launchError ? launchError.split('\n')[0]! : null,
      stderrTail: stderr.tail(),
      logPath,
      durationMs: performance.now() - started,
    };
  }

  /** The trainer child: cancelled by the request's signal (SIGTERM, then SIGKILL after the grace), stopped at its timeout. */
  private start(req: LaunchRequest, configPath: string): Child {
    return execa(process.execPath, ['--import', 'tsx', this.trainer, configPath], {
      // tsx and the trainer resolve from the repository, whatever the user's working directory.
      cwd: REPO_ROOT,
      env: req.slot.env,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cancelSignal: req.signal,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: this.killGraceMs,
      ...(req.timeoutMs !== null ? { timeout: req.timeoutMs } : {}),
    });
  }

  async isAlive(job: JobRef): Promise<boolean> {
    const pid = Number(job.jobId);
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid) && isOurChild(pid, job.runDir);
  }

  async stop(job: JobRef): Promise<void> {
    if (!(await this.isAlive(job))) return;
    await stopChild(Number(job.jobId), job.runDir, this.killGraceMs, this.notice);
  }

  async kill(job: JobRef): Promise<void> {
    if (!(await this.isAlive(job))) return;
    const pid = Number(job.jobId);
    process.kill(pid, 'SIGKILL');
    while (pidAlive(pid)) await new Promise((r) => setTimeout(r, 20));
  }
}

type Child = ReturnType<typeof execa>;

/** config.json by temp file and rename: a full disk leaves the old one (or none), never an empty one. */
function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The child's stderr goes to the log; its last few KB are kept for a failed run's error column. */
function keepStderr(child: Child, log: WriteStream): { tail: () => string } {
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
  });
  return { tail: () => tail };
}

/** Decodes the child's stdout line by line into protocol events; resolves when stdout closes. */
function readEvents(child: Child, log: WriteStream, onEvent: LaunchRequest['onEvent']): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!child.stdout) return resolve();
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.on('line', (line) => {
      const event = decodeEvent(line);
      // Anything that is not a protocol event (a stray console.log) is kept in the log, not lost.
      if (event) onEvent(event);
      else if (line.trim()) log.write(`[stdout] ${line}\n`);
    });
    lines.on('close', () => resolve());
  });
}

/** Whether a process exists (EPERM: it exists but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isZombie(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    return / Z /.test(readFileSync(stat, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return false;
  }
}

/** A pid can be reused: only a process whose command line names this run's folder is ours. */
function isOurChild(pid: number, runDir: string): boolean {
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync('/proc/self/cmdline')) return true; // no procfs: trust the pid
  try {
    return readFileSync(cmdline, 'utf8').includes(runDir);
  } catch {
    return false;
  }
}
