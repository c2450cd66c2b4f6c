// How a child's end maps to a run status, and whether it is worth another attempt:
// only crashes (exit 1, death by a signal, a silent exit) are retried; divergence and user
// errors would end the same way again.
import { EXIT, type DoneEvent, type ErrorEvent } from '../contract/protocol.ts';
import type { LaunchResult } from './executor.ts';

export interface Verdict {
  status: 'done' | 'diverged' | 'interrupted' | 'failed';
  reason: string;
  retry: boolean;
  /** Text for the run's error column. */
  error: string | null;
}

/** The line of a stderr tail that says what went wrong: the last error message, not a stack frame or Node's version banner. */
export function errorLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('at ') && !/^Node\.js v\d/.test(l));
  for (let i = lines.length - 1; i >= 0; i--) if (/^(\w+)?(Error|Exception)\b/.test(lines[i]!)) return lines[i]!;
  return lines.pop() ?? '';
}

export function exitVerdict(result: LaunchResult, done: DoneEvent | undefined, error: ErrorEvent | undefined, cancelled: boolean): Verdict {
  const errorText = error ? (error.stack ? `${error.message}\n${error.stack}` : error.message) : result.stderrTail.trim() || null;
  const why = error?.message ?? errorLine(result.stderrTail);
  if (result.exitCode === EXIT.ok && done) {
    return { status: done.status, reason: done.reason, retry: false, error: null };
  }
  if (result.launchError) return { status: 'failed', reason: `could not start: ${result.launchError}`, retry: false, error: result.launchError };
  if (result.timedOut) {
    return { status: 'failed', reason: `timed out after ${Math.round(result.durationMs / 1000)} s (a rerun resumes it from its checkpoint)`, retry: false, error: errorText };
  }
  if (cancelled || result.exitCode === EXIT.interrupted) {
    return { status: 'interrupted', reason: done?.reason ? `interrupted (${done.reason})` : 'interrupted; a rerun resumes it', retry: false, error: null };
  }
  if (result.exitCode === EXIT.diverged) {
    return { status: 'diverged', reason: done?.reason ?? 'diverged', retry: false, error: null };
  }
  if (result.exitCode === EXIT.userError) {
    return { status: 'failed', reason: `user error: ${why || 'exit 2'}`, retry: false, error: errorText };
  }
  const how = result.signal ? `killed by ${result.signal}` : result.exitCode === EXIT.ok ? 'exited 0 without a done event' : `exit ${result.exitCode}`;
  return { status: 'failed', reason: `crashed (${how})${why ? `: ${why}` : ''}`, retry: true, error: errorText };
}
