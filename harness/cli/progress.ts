// Sweep progress for people. On a terminal: a live block redrawn in place, one line per active
// run (name, device, step / total, loss, tokens/s, mean current rank for InRank, ETA) under a
// sweep total; finished runs scroll above it. Off a terminal (CI, a log file): plain lines when
// runs start and end, and every intervalMs one line per active run.
import type { ProgressSink } from '../schedule/progress-sink.ts';
import type { RunPlan } from '../spec/plan.ts';
import type { StoredRunStatus } from '../store/rows.ts';
import type { TrainEvent } from '../contract/protocol.ts';
import { formatDuration, formatNumber } from './common.ts';

interface ActiveRun {
  plan: RunPlan;
  device: string;
  attempt: number;
  startedAt: number;
  step: number;
  maxSteps: number | null;
  loss: number | null;
  tokensPerSec: number | null;
  ranks: Map<string, number>;
  /** The step and time of the first step event of this attempt: the ETA's baseline. */
  firstStep: { step: number; at: number } | null;
  note: string | null;
}

export class ProgressState {
  readonly active = new Map<string, ActiveRun>();
  readonly ended = new Map<StoredRunStatus, number>();
  total = 0;
  alreadyFinished = 0;
  readonly startedAt = Date.now();

  sweepStarted(plans: RunPlan[], already: Map<string, StoredRunStatus>): void {
    this.total = plans.length;
    this.alreadyFinished = already.size;
  }

  runStarted(plan: RunPlan, device: string, attempt: number): void {
    this.active.set(plan.id, {
      plan, device, attempt, startedAt: Date.now(), step: 0, maxSteps: null, loss: null, tokensPerSec: null,
      ranks: new Map(), firstStep: null, note: null,
    });
  }

  runEvent(plan: RunPlan, e: TrainEvent): void {
    const run = this.active.get(plan.id);
    if (!run) return;
    if (e.type === 'start') {
      run.maxSteps = e.maxSteps;
      run.step = e.resumedFromStep ?? 0;
      for (const [layer, r] of Object.entries(e.ranks ?? {})) run.ranks.set(layer, r);
    } else if (e.type === 'step') {
      run.step = e.step;
      run.loss = e.loss;
      run.tokensPerSec = e.tokensPerSec;
      run.firstStep ??= { step: e.step, at: Date.now() };
    } else if (e.type === 'rank') {
      run.ranks.set(e.layer, e.currentModes);
    } else if (e.type === 'prune') {
      for (const [layer, r] of Object.entries(e.ranks)) run.ranks.set(layer, r);
    }
  }

  runEnded(plan: RunPlan, status: StoredRunStatus): void {
    this.active.delete(plan.id);
    this.ended.set(status, (this.ended.get(status) ?? 0) + 1);
  }

  runLine(run: ActiveRun): string {
    const parts = [run.plan.name, run.device, `step ${run.step}/${run.maxSteps ?? '?'}`];
    if (run.loss !== null) parts.push(`loss ${formatNumber(run.loss)}`);
    if (run.tokensPerSec !== null) parts.push(`${Math.round(run.tokensPerSec)} tok/s`);
    if (run.ranks.size) {
      const ranks = [...run.ranks.values()];
      parts.push(`rank ${formatNumber(ranks.reduce((a, b) => a + b, 0) / ranks.length, 2)} (mean of ${ranks.length})`);
    }
    parts.push(`ETA ${formatDuration(this.eta(run))}`);
    if (run.attempt > 1) parts.push(`attempt ${run.attempt}`);
    if (run.note) parts.push(run.note);
    return parts.join('  ');
  }

  eta(run: ActiveRun): number | null {
    if (!run.firstStep || run.maxSteps === null || run.step <= run.firstStep.step) return null;
    const msPerStep = (Date.now() - run.firstStep.at) / (run.step - run.firstStep.step);
    return msPerStep * (run.maxSteps - run.step);
  }

  totalLine(): string {
    const endedCount = [...this.ended.values()].reduce((a, b) => a + b, 0);
    const finished = endedCount + this.alreadyFinished;
    const detail = [...this.ended.entries()].map(([s, n]) => `${n} ${s}`);
    if (this.alreadyFinished) detail.push(`${this.alreadyFinished} from earlier sweeps`);
    const queued = this.total - finished - this.active.size;
    return `sweep: ${finished}/${this.total} finished${detail.length ? ` (${detail.join(', ')})` : ''}, ${this.active.size} running, ${Math.max(0, queued)} waiting, ${formatDuration(Date.now() - this.startedAt)} elapsed`;
  }
}

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
      for (const run of this.state.active.values()) this.write(`  ${this.state.runLine(run)}`);
      this.write(this.state.totalLine());
    }, this.intervalMs);
    this.timer.unref();
  }
  runStarted(plan: RunPlan, device: string, attempt: number): void {
    this.state.runStarted(plan, device, attempt);
    this.write(`started     ${plan.name} on ${device}${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
  }
  runEvent(plan: RunPlan, event: TrainEvent): void {
    this.state.runEvent(plan, event);
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
    this.write(this.state.totalLine());
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
    const width = Math.max(40, this.stream.columns ?? 120);
    const lines = [...this.state.active.values()].map((r) => `  ${this.state.runLine(r)}`);
    lines.push(this.state.totalLine());
    for (const l of lines) this.stream.write(`${l.length > width ? `${l.slice(0, width - 1)}…` : l}\n`);
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
