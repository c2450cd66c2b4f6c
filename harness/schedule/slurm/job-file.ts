// A run's Slurm job record, kept in its folder (slurm-job.json), and the follower that reads
// the run's events file from where the harness last stopped. The record is what lets a
// restarted harness reattach to a job instead of submitting the run again, and what a stage 2
// reads to depend on its stage 1's job.
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeEvent, type TrainEvent } from '../../contract/protocol.ts';
import { EVENTS_FILE } from './script.ts';

export const JOB_FILE = 'slurm-job.json';

export interface JobRecord {
  runId: string;
  jobId: string;
  /** Byte offset in events.jsonl up to which events were handed to the harness. */
  offset: number;
  /** Submissions of this run so far (resumes after a time limit / node failure count). */
  submissions: number;
  submittedAt: string;
  /** The harness saw this job to its end and took its result: a new launch submits a new job. */
  finished: boolean;
}

export function readJobRecord(outDir: string): JobRecord | null {
  const path = join(outDir, JOB_FILE);
  if (!existsSync(path)) return null;
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<JobRecord>;
    if (typeof value.jobId !== 'string' || typeof value.offset !== 'number' || typeof value.runId !== 'string') return null;
    return { submissions: 1, submittedAt: '', finished: false, ...value } as JobRecord;
  } catch {
    return null;
  }
}

/** Written to a temporary file and renamed, so a reader never sees half a record. */
export function writeJobRecord(outDir: string, record: JobRecord): void {
  const path = join(outDir, JOB_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(record, null, 2));
  renameSync(`${path}.tmp`, path);
}

/** Size of the run's events file now: a new job's events start there. */
export function eventsSize(outDir: string): number {
  const path = join(outDir, EVENTS_FILE);
  return existsSync(path) ? statSync(path).size : 0;
}

/**
 * The job record of the run that writes a stage-2 run's input checkpoint: the checkpoint lies
 * in (a folder below) the stage-1 run's folder.
 */
export function findRecordAbove(path: string, levels = 3): JobRecord | null {
  let dir = dirname(path);
  for (let i = 0; i < levels; i++) {
    const record = readJobRecord(dir);
    if (record) return record;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

/**
 * Reads the complete lines appended to the events file since `offset`. A line still being
 * written (no newline yet) is left for the next read. Returns the events in order with the
 * offset just after the last complete line. With `holdFinalDone`, a done event that is the
 * last event read is left unread (the offset stops before its line) for a later read.
 */
export function readEventsSince(outDir: string, offset: number, holdFinalDone = false): { events: TrainEvent[]; offset: number } {
  const path = join(outDir, EVENTS_FILE);
  if (!existsSync(path)) return { events: [], offset };
  const size = statSync(path).size;
  // A file shorter than the stored offset was replaced: start over rather than skip its events.
  const from = size < offset ? 0 : offset;
  if (size === from) return { events: [], offset: from };
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(size - from);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, from + read);
      if (n === 0) break;
      read += n;
    }
    const end = buffer.lastIndexOf(0x0a, read - 1);
    if (end < 0) return { events: [], offset: from };
    const events: TrainEvent[] = [];
    let lastStart = 0;
    for (let start = 0; start <= end; ) {
      const stop = buffer.indexOf(0x0a, start);
      const event = decodeEvent(buffer.subarray(start, stop).toString('utf8'));
      if (event) {
        events.push(event);
        lastStart = start;
      }
      start = stop + 1;
    }
    if (holdFinalDone && events.at(-1)?.type === 'done') {
      events.pop();
      return { events, offset: from + lastStart };
    }
    return { events, offset: from + end + 1 };
  } finally {
    closeSync(fd);
  }
}
