// What the progress views know about a sweep while it runs: each active run's phase (loading
// data, training step i/n, evaluating, pruning, saving), its figures and its ETA, and the
// sweep's ETA from the planned FLOPs (spec/cost.ts) and the throughput measured so far.
import type { RunPlan } from '../spec/plan.ts';
import { scheduleSteps } from '../spec/cost.ts';
import type { StoredRunStatus } from '../store/rows.ts';
import type { TrainEvent } from '../contract/protocol.ts';

export interface ActiveRun {
  plan: RunPlan;
  device: string;
  attempt: number;
  startedAt: number;
  /** 'starting' until the trainer says more; 'training' between steps. */
  phase: string;
  step: number;
  /** The step this attempt started from (a resume, or stage 2 after stage 1) and the one it ends at. */
  startStep: number;
  maxSteps: number;
  loss: number | null;
  tokensPerSec: number | null;
  ranks: Map<string, number>;
  /** The step and time of the first step event of this attempt: the ETA's baseline. */
  firstStep: { step: number; at: number } | null;
  note: string | null;
}

/** The steps a plan's run is expected to span, before its trainer says (stage 2 continues stage 1's count). */
export function plannedSteps(plan: RunPlan): { start: number; end: number } {
  const total = scheduleSteps(plan.config);
  const stage1 = Math.min(plan.config.stage.stage1Steps, total);
  const kind = plan.config.stage.kind;
  return { start: kind === 'stage2' ? stage1 : 0, end: kind === 'stage1' ? stage1 : total };
}

/** How far a run is, 0..1, by steps. */
export function fractionDone(run: ActiveRun): number {
  const span = run.maxSteps - run.startStep;
  return span > 0 ? Math.min(1, Math.max(0, (run.step - run.startStep) / span)) : 0;
}

export class ProgressState {
  readonly active = new Map<string, ActiveRun>();
  readonly ended = new Map<StoredRunStatus, number>();
  total = 0;
  alreadyFinished = 0;
  readonly startedAt: number;
  /** Planned FLOPs of the runs this sweep has to train, and the share of them done so far. */
  private plannedFlops = 0;
  private endedFlops = 0;
  private endedPlanned = 0;

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  sweepStarted(plans: RunPlan[], already: Map<string, StoredRunStatus>): void {
    this.total = plans.length;
    this.alreadyFinished = already.size;
    this.plannedFlops = plans.filter((p) => !already.has(p.id)).reduce((sum, p) => sum + p.expectedCost, 0);
  }

  runStarted(plan: RunPlan, device: string, attempt: number): void {
    const { start, end } = plannedSteps(plan);
    this.active.set(plan.id, {
      plan, device, attempt, startedAt: this.now(), phase: 'starting', step: start, startStep: start, maxSteps: end,
      loss: null, tokensPerSec: null, ranks: new Map(), firstStep: null, note: null,
    });
  }

  runEvent(plan: RunPlan, e: TrainEvent): void {
    const run = this.active.get(plan.id);
    if (!run) return;
    if (e.type === 'phase') {
      run.phase = e.detail ? `${e.phase} ${e.detail}` : e.phase;
    } else if (e.type === 'start') {
      run.maxSteps = e.maxSteps;
      run.step = run.startStep = e.resumedFromStep ?? 0;
      run.phase = 'training';
      for (const [layer, r] of Object.entries(e.ranks ?? {})) run.ranks.set(layer, r);
    } else if (e.type === 'step') {
      run.phase = 'training';
      run.step = e.step;
      run.loss = e.loss;
      run.tokensPerSec = e.tokensPerSec;
      run.firstStep ??= { step: e.step, at: this.now() };
    } else if (e.type === 'rank') {
      run.ranks.set(e.layer, e.currentModes);
    } else if (e.type === 'prune') {
      for (const [layer, r] of Object.entries(e.ranks)) run.ranks.set(layer, r);
    }
  }

  runEnded(plan: RunPlan, status: StoredRunStatus): void {
    const run = this.active.get(plan.id);
    // Work done counts for the throughput; a run that ended early leaves nothing to do either way.
    this.endedFlops += plan.expectedCost * (status === 'done' ? 1 : run ? fractionDone(run) : 0);
    this.endedPlanned += plan.expectedCost;
    this.active.delete(plan.id);
    this.ended.set(status, (this.ended.get(status) ?? 0) + 1);
  }

  /** FLOPs per millisecond over the whole sweep so far (all slots together), or null before any step. */
  throughput(): number | null {
    const done = this.endedFlops + [...this.active.values()].reduce((s, r) => s + r.plan.expectedCost * fractionDone(r), 0);
    const ms = this.now() - this.startedAt;
    return done > 0 && ms > 0 ? done / ms : null;
  }

  /** Milliseconds left for the sweep: planned FLOPs not yet done over the measured throughput. */
  sweepEta(): number | null {
    const rate = this.throughput();
    if (rate === null) return null;
    const activeLeft = [...this.active.values()].reduce((s, r) => s + r.plan.expectedCost * (1 - fractionDone(r)), 0);
    const activePlanned = [...this.active.values()].reduce((s, r) => s + r.plan.expectedCost, 0);
    const waiting = Math.max(0, this.plannedFlops - this.endedPlanned - activePlanned);
    return (waiting + activeLeft) / rate;
  }

  /**
   * Milliseconds left for a run: from its own step rate once it has taken steps, else (marked
   * estimated) from the sweep's throughput shared among the runs going now.
   */
  eta(run: ActiveRun): { ms: number; estimated: boolean } | null {
    if (run.firstStep && run.step > run.firstStep.step) {
      const msPerStep = (this.now() - run.firstStep.at) / (run.step - run.firstStep.step);
      return { ms: msPerStep * Math.max(0, run.maxSteps - run.step), estimated: false };
    }
    const rate = this.throughput();
    if (rate === null) return null;
    return { ms: (run.plan.expectedCost * (1 - fractionDone(run))) / (rate / Math.max(1, this.active.size)), estimated: true };
  }

  counts(): { finished: number; detail: string[]; running: number; waiting: number } {
    const endedCount = [...this.ended.values()].reduce((a, b) => a + b, 0);
    const finished = endedCount + this.alreadyFinished;
    const detail = [...this.ended.entries()].map(([s, n]) => `${n} ${s}`);
    if (this.alreadyFinished) detail.push(`${this.alreadyFinished} from earlier sweeps`);
    return { finished, detail, running: this.active.size, waiting: Math.max(0, this.total - finished - this.active.size) };
  }
}
