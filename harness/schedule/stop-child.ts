// Stopping a trainer child that an earlier harness left running (its harness died): SIGTERM so
// it checkpoints, SIGKILL once the grace is over. Two cases must not cost the whole grace in
// silence: a child that was stopped (SIGSTOP, Ctrl-Z, a debugger) cannot act on SIGTERM until
// it is continued, so it is killed at once (SIGKILL works on a stopped process); and a child
// that is merely slow gets a line saying what the harness is waiting for and for how long.
import { existsSync, readFileSync } from 'node:fs';
import { pidAlive } from './local-executor.ts';

/** A slow child is waited for this long in silence before the harness says what it waits for. */
const QUIET_MS = 2000;

/** Whether the process is stopped (state T, or t: stopped by a tracer), from /proc/<pid>/stat. */
export function isStopped(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    // The state is the field after the command name, which is in parentheses and may hold spaces.
    return /^\s*[Tt]\b/.test(readFileSync(stat, 'utf8').replace(/^.*\)/s, ''));
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after graceMs, or at once when the child is stopped; resolves once it is gone. */
export async function stopChild(pid: number, runDir: string, graceMs: number, notice: (line: string) => void): Promise<void> {
  const seconds = Math.round(graceMs / 1000);
  if (isStopped(pid)) {
    notice(`the trainer of ${runDir} (pid ${pid}) is stopped (SIGSTOP) and cannot checkpoint: killing it now`);
    process.kill(pid, 'SIGKILL');
  } else {
    process.kill(pid, 'SIGTERM');
    const started = Date.now();
    let said = false;
    while (pidAlive(pid) && Date.now() - started < graceMs) {
      if (isStopped(pid)) {
        notice(`the trainer of ${runDir} (pid ${pid}) is stopped (SIGSTOP) and cannot checkpoint: killing it now`);
        break;
      }
      if (!said && Date.now() - started >= QUIET_MS) {
        notice(`waiting up to ${seconds} s for the trainer of ${runDir} (pid ${pid}) to write its checkpoint and exit after SIGTERM; then it is killed`);
        said = true;
      }
      await sleep(100);
    }
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  while (pidAlive(pid)) await sleep(20);
}
