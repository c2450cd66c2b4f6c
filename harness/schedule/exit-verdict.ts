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

/** Lines that never say why a child failed: stack frames, Node's banner and source excerpt, warnings. */
const NOISE = [/^at\s/, /^Node\.js v\d/, /^\^+$/, /^\S+:\d+$/, /^\(node:\d+\)/, /^\(Use `node --trace-/, /^warn(ing)?\b/i];
/** What an error line looks like: an Error or Exception name, or words a failing program uses. */
const ERROR_LIKE = [/^(\w+)?(Error|Exception)\b/, /\b(error|fatal|failed|cannot|could not|out of memory|aborted|assertion|killed)\b/i];

/**
 * The line of a stderr tail that says what went wrong: the trainer's own `[train] error:` line,
 * else the last error-looking line, else the last line that is not noise. The trainer's other
 * `[train]` lines (progress, backend, resume notes) and warnings are never the reason, even
 * when they are the last thing it wrote before it was killed.
 */
export function errorLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !NOISE.some((re) => re.test(l)));
  const own = lines.filter((l) => l.startsWith('[train] error: ')).pop();
  if (own) return own.slice('[train] error: '.length);
  // A [train] line is the trainer talking: a reason only when it carries an error (a logged stack's first line).
  const candidates = lines.map((l) => l.replace(/^\[train\] /, '')).filter((l, i) => !lines[i]!.startsWith('[train] ') || ERROR_LIKE.some((re) => re.test(l)));
  for (let i = candidates.length - 1; i >= 0; i--) if (ERROR_LIKE.some((re) => re.test(candidates[i]!))) return candidates[i]!;
  return candidates.pop() ?? '';
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
