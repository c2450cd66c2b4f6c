// Sweep progress for people. On a terminal: a live block redrawn in place, one line per active
// run (name, device, phase and step / total, loss, tokens/s, mean current rank for InRank, ETA)
// under a sweep total with the sweep's ETA; every line fits the terminal's width; finished runs
// scroll above it. Off a terminal (CI, a log file): plain lines when runs start and end, and
// every intervalMs one line per active run.
import type { ProgressSink } from '../schedule/progress-sink.ts';
import type { RunPlan } from '../spec/plan.ts';
import type { StoredRunStatus } from '../store/rows.ts';
import type { TrainEvent } from '../contract/protocol.ts';
import { formatDuration } from './common.ts';
import { ProgressState } from './progress-state.ts';
import { fitLine, runParts, totalParts } from './progress-line.ts';

export { ProgressState } from './progress-state.ts';

/** A run's line and the sweep's line, fitted to width (null: no limit). */
export const runLine = (state: ProgressState, run: Parameters<typeof runParts>[1], width: number | null = null): string =>
  fitLine(runParts(state, run), width);
export const totalLine = (state: ProgressState, width: number | null = null): string => fitLine(totalParts(state), width);

const endLine = (plan: RunPlan, status: StoredRunStatus, reason: string | null): string =>
  `${status.padEnd(11)} ${plan.name}${reason ? `: ${reason}` : ''}`;

/** Plain lines, for logs and CI. */
export class PlainProgress implements ProgressSink {
  private readonly state = new ProgressState();
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly write: (line: string) => void, private readonly intervalMs = 30_000) {}

  sweepStarted(plans: RunPlan[], already: Map<string, StoredRunStatus>): void {
    this.state.sweepStarted(plans, already);
    if (already.size) this.write(`${already.size} of ${plans.length} runs already finished in earlier sweeps (not run again)`);
    this.timer = setInterval(() => {
      for (const run of this.state.active.values()) this.write(`  ${runLine(this.state, run)}`);
      this.write(totalLine(this.state));
    }, this.intervalMs);
    this.timer.unref();
  }
  runStarted(plan: RunPlan, device: string, attempt: number): void {
    this.state.runStarted(plan, device, attempt);
    this.write(`started     ${plan.name} on ${device}${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
  }
  runEvent(plan: RunPlan, event: TrainEvent): void {
    this.state.runEvent(plan, event);
    if (event.type === 'notice') this.write(`notice      ${plan.name}: ${event.message}`);
  }
  runRetrying(plan: RunPlan, reason: string, delayMs: number): void {
    this.write(`retrying    ${plan.name} in ${formatDuration(delayMs)}: ${reason}`);
  }
  runWaiting(plan: RunPlan, reason: string): void {
    this.write(`waiting     ${plan.name}: ${reason}`);
  }
  runEnded(plan: RunPlan, status: StoredRunStatus, reason: string | null): void {
    this.state.runEnded(plan, status);
    this.write(endLine(plan, status, reason));
  }
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.write(totalLine(this.state));
  }
}

/** The live terminal view: the block of active runs is erased and redrawn a few times a second. */
export class LiveProgress implements ProgressSink {
  private readonly state = new ProgressState();
  private timer: NodeJS.Timeout | null = null;
  private drawnLines = 0;
  constructor(private readonly stream: NodeJS.WriteStream, private readonly redrawMs = 250) {}

  private erase(): void {
    if (this.drawnLines) this.stream.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }
  private draw(): void {
    this.erase();
    // One character short of the width: a line that fills it exactly wraps on some terminals.
    const width = Math.max(40, this.stream.columns ?? 120) - 1;
    const lines = [...this.state.active.values()].map((r) => `  ${runLine(this.state, r, width - 2)}`);
    lines.push(totalLine(this.state, width));
    for (const l of lines) this.stream.write(`${l}\n`);
    this.drawnLines = lines.length;
  }
  /** A line that stays: printed above the live block. */
  private print(line: string): void {
    this.erase();
    this.stream.write(`${line}\n`);
    this.draw();
  }

  sweepStarted(plans: RunPlan[], already: Map<string, StoredRunStatus>): void {
    this.state.sweepStarted(plans, already);
    if (already.size) this.print(`${already.size} of ${plans.length} runs already finished in earlier sweeps (not run again)`);
    this.timer = setInterval(() => this.draw(), this.redrawMs);
    this.timer.unref();
  }
  runStarted(plan: RunPlan, device: string, attempt: number): void {
    this.state.runStarted(plan, device, attempt);
  }
  runEvent(plan: RunPlan, event: TrainEvent): void {
    this.state.runEvent(plan, event);
    if (event.type === 'notice') this.print(`notice      ${plan.name}: ${event.message}`);
  }
  runRetrying(plan: RunPlan, reason: string, delayMs: number): void {
    this.print(`retrying    ${plan.name} in ${formatDuration(delayMs)}: ${reason}`);
  }
  runWaiting(plan: RunPlan, reason: string): void {
    this.print(`waiting     ${plan.name}: ${reason}`);
  }
  runEnded(plan: RunPlan, status: StoredRunStatus, reason: string | null): void {
    this.state.runEnded(plan, status);
    this.print(endLine(plan, status, reason));
  }
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw();
    this.drawnLines = 0;
  }
}

export function progressFor(stream: NodeJS.WriteStream): ProgressSink {
  return stream.isTTY ? new LiveProgress(stream) : new PlainProgress((l) => stream.write(`${l}\n`));
}
