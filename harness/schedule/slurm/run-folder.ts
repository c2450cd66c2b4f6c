// A Slurm run's folder on the shared filesystem, as the harness reads it: the configs the job
// reads, the events it appends (handed over from the job record's offset, so nothing is stored
// twice), its exit file, and the log the harness notes its own steps in.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunConfig } from '../../contract/config.ts';
import type { TrainEvent } from '../../contract/protocol.ts';
import type { JobInfo } from './commands.ts';
import { readEventsSince, writeJobRecord, type JobRecord } from './job-file.ts';
import { CONFIG_FILE, exitFile, LOG_FILE, RESUME_CONFIG_FILE } from './script.ts';

const TAIL_BYTES = 4000;

export class RunFolder {
  readonly logPath: string;

  constructor(
    readonly outDir: string,
    /** How long to wait, after a job ends, for its exit file to appear on a slow shared filesystem (ms). */
    private readonly exitFileWaitMs: number,
  ) {
    this.logPath = join(outDir, LOG_FILE);
  }

  writeConfigs(config: RunConfig): void {
    writeFileSync(join(this.outDir, CONFIG_FILE), JSON.stringify(config, null, 2));
    writeFileSync(join(this.outDir, RESUME_CONFIG_FILE), JSON.stringify({ ...config, resume: true }, null, 2));
  }

  /**
   * Hands the events appended since the record's offset to the harness, then moves the offset;
   * with holdFinalDone, a done event that is the last one so far stays unread (see collect()).
   */
  drain(onEvent: (event: TrainEvent) => void, record: JobRecord, holdFinalDone = false): JobRecord {
    const { events, offset } = readEventsSince(this.outDir, record.offset, holdFinalDone);
    if (offset === record.offset) return record;
    for (const event of events) onEvent(event);
    const next = { ...record, offset };
    writeJobRecord(this.outDir, next);
    return next;
  }

  /** The harness saw the job to its end: a new launch submits a new job. */
  finish(record: JobRecord): void {
    writeJobRecord(this.outDir, { ...record, finished: true });
  }

  exitCode(jobId: string, info: JobInfo): number | null {
    const path = exitFile(this.outDir, jobId);
    if (existsSync(path)) {
      const code = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(code)) return code;
    }
    // Without the file (the script was killed), Slurm's own exit code is the next best.
    return info.phase === 'completed' ? 0 : null;
  }

  async awaitExitCode(jobId: string, info: JobInfo): Promise<number | null> {
    // Only a script that ran to its end writes the file; wait for it only then.
    const expectFile = info.phase === 'completed' || info.phase === 'failed' || info.phase === 'cancelled';
    const deadline = performance.now() + (expectFile ? this.exitFileWaitMs : 0);
    while (!existsSync(exitFile(this.outDir, jobId)) && performance.now() < deadline) await sleep(200);
    return this.exitCode(jobId, info);
  }

  note(line: string): void {
    try {
      writeFileSync(this.logPath, `--- ${new Date().toISOString()} ${line}\n`, { flag: 'a' });
    } catch {
      // The log is for people; a failed note must not fail the run.
    }
  }

  /** The last few KB of the job's log, for a failed run's error column. */
  tail(): string {
    if (!existsSync(this.logPath)) return '';
    const size = statSync(this.logPath).size;
    const fd = openSync(this.logPath, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(size, TAIL_BYTES));
      const n = readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      return buffer.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  }
}
