// Runs a sweep's plans on the slots: at most one run per slot, the most expensive ready run
// first, a stage 2 only after its stage 1 is done (else it is skipped, with the reason, and so
// are the runs that need it). Runs already done or diverged are not run again; interrupted ones
// resume from their checkpoints; a run another live harness is training is waited for.
// On an executor whose cluster holds dependencies (Slurm's afterok), a stage 2 is handed over
// as soon as its stage 1 has a job id: the cluster starts it when the stage 1 has succeeded.
//
// The phases of a run's turn, as methods of SweepSchedule: plan (the order, the runs already
// finished), consider (prerequisites: enqueue, wait or skip), claim (the run is ours, or another
// live harness trains it and we watch), launch (one attempt on the executor), and settle (the
// verdict, a retry with backoff, and the dependents reconsidered).
import PQueue from 'p-queue';
import type { RunPlan } from '../spec/plan.ts';
import type { StoredRunStatus } from '../store/rows.ts';
import type { Store } from '../store/store.ts';
import type { Executor, LaunchResult, Slot } from './executor.ts';
import { endedPruned, watchForStop, type EarlyStopHook, type StopWatch } from './early-stop-hook.ts';
import { exitVerdict, type Verdict } from './exit-verdict.ts';
import { handleAhead } from './launch-faults.ts';
import { SweepFaults } from './sweep-faults.ts';
import { silentProgress, type ProgressSink } from './progress-sink.ts';
import { ownerAlive, recoverOrphans } from './recover.ts';
import { isFinished, prerequisiteFailed, prerequisiteMissing, recordEvents, startLaunch, type EventRecording } from './run-lifecycle.ts';

export interface ScheduleOptions {
  store: Store;
  sweepId: number;
  plans: RunPlan[];
  executor: Executor;
  slots: Slot[];
  /** At most this many runs at once (never more than the slots). */
  maxParallel?: number;
  /** Extra attempts for a run that crashed, within this sweep. */
  retries?: number;
  /** First retry delay; doubles with each further attempt (capped at a minute). */
  backoffMs?: number;
  /** Per-attempt wall-clock limit; null = none. */
  timeoutMs?: number | null;
  /** Aborting stops the sweep: running children get SIGTERM and end interrupted; nothing new starts. */
  signal?: AbortSignal;
  progress?: ProgressSink;
  /** How often to look at a run another harness is training. */
  pollMs?: number;
  heartbeatMs?: number;
  /** A foreign host's run counts as orphaned after this long without a heartbeat. */
  staleMs?: number;
  /** Early stopping (a search's ASHA): may stop a run, which then ends 'pruned' and counts as finished. */
  earlyStop?: EarlyStopHook;
}

export interface ScheduleResult {
  /** Each plan's status at the end (plans never started because of an interrupt keep their stored status). */
  statuses: Map<string, StoredRunStatus>;
  interrupted: boolean;
  /** Plans that were finished before this sweep began and were not run again. */
  alreadyFinished: number;
  /** The harness's own I/O fault (io-fault.ts) that stopped it starting runs, in one line; null if none. */
  fault: string | null;
}

/** How a run's turn in this sweep ended. */
interface Ending {
  status: StoredRunStatus;
  reason: string;
}

/** One launch on the executor and what it reported. */
interface Launched {
  result: LaunchResult;
  events: EventRecording;
  /** The early-stop hook's watch over this launch. */
  stop: StopWatch;
  /** The run folder it ran in. */
  outDir: string;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export async function runSchedule(options: ScheduleOptions): Promise<ScheduleResult> {
  return new SweepSchedule(options).run();
}

class SweepSchedule {
  private readonly store: Store;
  private readonly executor: Executor;
  private readonly signal: AbortSignal;
  private readonly progress: ProgressSink;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly pollMs: number;
  private readonly freeSlots: Slot[];
  private readonly byId: Map<string, RunPlan>;
  private readonly dependents = new Map<string, RunPlan[]>();
  private readonly chainCost = new Map<string, number>();
  /** Each plan's status once it settled in this sweep (or was finished before it). */
  private readonly outcome = new Map<string, StoredRunStatus>();
  private readonly alreadyFinished = new Map<string, StoredRunStatus>();
  /** The harness's own faults: after the first, no run starts (each would meet it again). */
  private readonly faults: SweepFaults;
  /** Paused until every initially ready plan is queued, so the first to start are the most expensive. */
  private readonly queue: PQueue;
  private readonly watchers = new Set<Promise<void>>();
  private readonly inFlight = new Set<string>();
  /** Plans handed to the queue and not yet settled: never queued twice. */
  private readonly queued = new Set<string>();
  /** The executor's current job of each plan in flight (for a dependent held on it). */
  private readonly jobOf = new Map<string, string>();
  private readonly settledWaiters = new Map<string, ((status: StoredRunStatus) => void)[]>();

  constructor(private readonly options: ScheduleOptions) {
    this.store = options.store;
    this.executor = options.executor;
    this.signal = options.signal ?? new AbortController().signal;
    this.progress = options.progress ?? silentProgress;
    this.retries = options.retries ?? 2;
    this.backoffMs = options.backoffMs ?? 2000;
    this.pollMs = options.pollMs ?? 1000;
    const concurrency = Math.max(1, Math.min(options.slots.length, options.maxParallel ?? Infinity));
    this.freeSlots = options.slots.slice(0, concurrency);
    this.queue = new PQueue({ concurrency, autoStart: false });
    this.byId = new Map(options.plans.map((p) => [p.id, p]));
    this.faults = new SweepFaults(options.store);
  }

  async run(): Promise<ScheduleResult> {
    const { plans } = this.options;
    this.plan();
    const heartbeat = setInterval(() => this.faults.guarded(() => this.store.heartbeat([...this.inFlight])), this.options.heartbeatMs ?? 15_000);
    heartbeat.unref();
    this.progress.sweepStarted(plans, this.alreadyFinished);
    for (const p of plans) if (!this.outcome.has(p.id)) this.consider(p);
    this.queue.start();
    try {
      for (;;) {
        await this.queue.onIdle();
        if (this.watchers.size === 0) break;
        await Promise.race(this.watchers);
      }
    } finally {
      clearInterval(heartbeat);
    }
    const statuses = new Map<string, StoredRunStatus>();
    for (const p of plans) statuses.set(p.id, this.outcome.get(p.id) ?? this.store.getRun(p.id)?.status ?? 'pending');
    return { statuses, interrupted: this.signal.aborted, alreadyFinished: this.alreadyFinished.size, fault: this.faults.first };
  }

  /** A run's turn that threw (the store failed, or a bug): failed, and the sweep starts nothing more. */
  private failTurn(plan: RunPlan, err: unknown): void {
    this.settle(plan, 'failed', this.faults.failRun(plan.id, err));
  }

  // --- plan -------------------------------------------------------------------------------

  /** The dependency graph, and the runs finished before this sweep (not run again). */
  private plan(): void {
    for (const p of this.options.plans) {
      if (p.dependsOn) this.dependents.set(p.dependsOn, [...(this.dependents.get(p.dependsOn) ?? []), p]);
      const status = this.store.getRun(p.id)?.status;
      if (status && this.finished(status)) {
        this.outcome.set(p.id, status);
        this.alreadyFinished.set(p.id, status);
      }
    }
  }

  /**
   * Longest first by the whole chain a run starts, not its own cost alone: a short stage 1 that
   * a long stage 2 waits on goes early, so the sweep does not end on a lone stage 2.
   */
  private costOfChain(plan: RunPlan): number {
    let cost = this.chainCost.get(plan.id);
    if (cost === undefined) {
      cost = plan.expectedCost + Math.max(0, ...(this.dependents.get(plan.id) ?? []).map((d) => this.costOfChain(d)));
      this.chainCost.set(plan.id, cost);
    }
    return cost;
  }

  // --- consider: prerequisites ------------------------------------------------------------

  /** Enqueues a plan whose prerequisite is done, skips one whose prerequisite ended otherwise, else waits. */
  private consider(plan: RunPlan): void {
    if (this.signal.aborted || this.faults.first !== null || this.outcome.has(plan.id) || this.queued.has(plan.id)) return;
    const depId = plan.dependsOn;
    if (!depId) return this.enqueue(plan, null);
    const dep = this.byId.get(depId);
    if (!dep) return this.considerOutside(plan, depId);
    const depStatus = this.outcome.get(depId);
    if (depStatus === undefined) {
      // The cluster holds it on the prerequisite's job; otherwise settle() of the prerequisite calls back.
      if (this.executor.holdsDependencies && this.jobOf.has(depId)) this.enqueue(plan, depId);
      return;
    }
    if (depStatus === 'pruned' && this.options.earlyStop) return this.prunedWith(plan, dep.name);
    if (depStatus !== 'done') return this.skip(plan, prerequisiteFailed(this.store, depId, depStatus, dep.name));
    this.enqueue(plan, null);
  }

  /** A prerequisite this sweep does not run: wait while another harness trains it, else it must be done. */
  private considerOutside(plan: RunPlan, depId: string): void {
    const row = this.store.getRun(depId);
    if (row?.status === 'running') return this.watch(plan, depId);
    if (row?.status !== 'done') return this.skip(plan, prerequisiteMissing(this.store, depId));
    this.enqueue(plan, null);
  }

  /** heldOn: the prerequisite still running whose job the cluster holds this plan on, else null. */
  private enqueue(plan: RunPlan, heldOn: string | null): void {
    this.queued.add(plan.id);
    // Awaited here: a turn that throws settles its run as failed instead of ending the harness.
    void this.queue.add(() => this.claim(plan, heldOn).catch((err: unknown) => this.failTurn(plan, err)), { priority: this.costOfChain(plan) });
  }

  /** Waits, off the queue, until another harness's run `watchedId` leaves 'running', then reconsiders `plan`. */
  private watch(plan: RunPlan, watchedId: string): void {
    const { store } = this;
    this.progress.runWaiting(plan, `${store.getRun(watchedId)?.name ?? watchedId} is running in another harness`);
    const w = this.waitWhileRunning(watchedId).then(() => {
      this.watchers.delete(w);
      if (this.signal.aborted) return;
      const row = store.getRun(plan.id);
      if (row && this.finished(row.status)) this.settle(plan, row.status, row.reason);
      else this.consider(plan);
    }).catch((err: unknown) => {
      this.watchers.delete(w);
      this.faults.note(err);
    });
    this.watchers.add(w);
  }

  private async waitWhileRunning(watchedId: string): Promise<void> {
    const staleMs = this.options.staleMs ?? 10 * 60_000;
    for (;;) {
      const row = this.store.getRun(watchedId);
      if (this.signal.aborted || row?.status !== 'running') return;
      // Its harness may die while we wait: then it is an orphan like those found at the start.
      if (!ownerAlive(row.owner_host, row.owner_pid, row.heartbeat_at, staleMs)) {
        await recoverOrphans(this.store, [this.executor], { staleMs: this.options.staleMs });
        continue;
      }
      await sleep(this.pollMs, this.signal);
    }
  }

  // --- claim ------------------------------------------------------------------------------

  /** The queue's turn for a plan: claim it (else watch whoever has it), take a slot, run its attempts. */
  private async claim(plan: RunPlan, heldOn: string | null): Promise<void> {
    if (this.signal.aborted || this.faults.first !== null) return void this.queued.delete(plan.id);
    const row = this.store.getRun(plan.id);
    if (row && this.finished(row.status)) return this.settle(plan, row.status, row.reason);
    if (!this.store.claimRun(plan.id)) {
      this.queued.delete(plan.id);
      return this.watch(plan, plan.id);
    }
    const slot = this.freeSlots.shift()!;
    this.inFlight.add(plan.id);
    let ending: Ending;
    try {
      ending = await this.attempts(plan, slot, heldOn);
    } finally {
      this.inFlight.delete(plan.id);
      this.jobOf.delete(plan.id);
      this.freeSlots.push(slot);
    }
    this.settle(plan, ending.status, ending.reason);
  }

  // --- launch -----------------------------------------------------------------------------

  /** Attempts until one ends the run's turn: a verdict, a prerequisite's failure, or an interrupt. */
  private async attempts(plan: RunPlan, slot: Slot, heldOn: string | null): Promise<Ending> {
    let setAside = 0; // relaunches after an ahead checkpoint; each removes checkpoints, so two suffice
    for (let attempt = 1; ; ) {
      // Held on the prerequisite's current job while it has not settled; after that, an ordinary launch.
      const after = heldOn && !this.outcome.has(heldOn) ? (this.jobOf.get(heldOn) ?? null) : undefined;
      if (heldOn && after === undefined && this.outcome.get(heldOn) !== 'done') return this.prerequisiteSkip(plan, heldOn, this.outcome.get(heldOn)!);
      const launched = await this.launch(plan, slot, after);
      const { fault, ahead } = launched.events;
      if (fault !== undefined) return { status: 'failed', reason: this.faults.failRun(plan.id, fault) };
      if (ahead) {
        const next = handleAhead(this.faults, this.store, plan.id, launched.outDir, ahead, ++setAside);
        if ('failed' in next) return { status: 'failed', reason: next.failed };
        this.progress.runRetrying(plan, next.again, 0);
        if (this.signal.aborted) return { status: 'interrupted', reason: 'sweep interrupted' };
        continue; // from an earlier checkpoint or the start: not a new attempt
      }
      if (endedPruned(launched.stop, this.signal, launched.events.done)) return this.pruned(plan, launched);
      if (after !== undefined && !launched.events.done && !this.signal.aborted) {
        // A held job that ended without a result: its prerequisite failed (the cluster never
        // started it), or the prerequisite was resubmitted and this job waited on the old one.
        const depStatus = await this.settledStatus(heldOn!);
        if (depStatus !== 'done') return this.prerequisiteSkip(plan, heldOn!, depStatus);
        if (launched.events.count === 0) continue; // never ran: launch again, not a new attempt
      }
      const ending = await this.verdict(plan, launched, attempt);
      if (ending) return ending;
      attempt++;
    }
  }

  private async launch(plan: RunPlan, slot: Slot, after: string | null | undefined): Promise<Launched> {
    // The hook sees each event after it is stored, and may stop this run alone.
    const stop = watchForStop(this.options.earlyStop, plan, this.signal);
    // Stops this child alone when its events can no longer be stored exactly (run-lifecycle.ts).
    const halt = new AbortController();
    const events = recordEvents(this.store, plan.id, (event) => {
      this.progress.runEvent(plan, event);
      stop.onEvent(event);
    }, {
      onFault: (err) => {
        this.faults.note(err);
        halt.abort();
      },
      onAhead: () => halt.abort(),
    });
    const { request, attempt } = startLaunch(this.store, plan.id, this.executor.name, {
      slot,
      timeoutMs: this.options.timeoutMs ?? null,
      signal: AbortSignal.any([stop.signal, halt.signal]),
      after,
      current: plan.config,
      onEvent: events.onEvent,
      onJob: (jobId) => {
        this.jobOf.set(plan.id, jobId);
        if (this.executor.holdsDependencies) for (const d of this.dependents.get(plan.id) ?? []) this.consider(d);
      },
    });
    this.progress.runStarted(plan, slot.name, attempt);
    return { result: await this.faults.launch(this.executor, request), events, stop, outDir: request.config.outDir };
  }

  // --- settle -----------------------------------------------------------------------------

  /** The attempt's verdict: the run's ending, or null after waiting out a crash's backoff (try again). */
  private async verdict(plan: RunPlan, { result, events }: Launched, attempt: number): Promise<Ending | null> {
    const { store, signal } = this;
    const verdict = this.faults.childVerdict(exitVerdict(result, events.done, events.error, signal.aborted), plan.config.outDir);
    // After a fault of the harness nothing starts again, a retry neither.
    if (verdict.retry && attempt <= this.retries && !signal.aborted && this.faults.first === null) {
      const delay = Math.min(60_000, this.backoffMs * 2 ** (attempt - 1));
      if (verdict.error) store.recordEvent(plan.id, { type: 'error', kind: 'internal', message: verdict.error });
      this.progress.runRetrying(plan, verdict.reason, delay);
      await sleep(delay, signal);
      if (!signal.aborted) return null;
      const stopped: Verdict = { status: 'interrupted', reason: 'sweep interrupted while waiting to retry a crash', retry: false, error: verdict.error };
      store.finishRun(plan.id, { status: stopped.status, reason: stopped.reason });
      return stopped;
    }
    const reason = verdict.retry && attempt > 1 ? `${verdict.reason} (after ${attempt} attempts)` : verdict.reason;
    store.finishRun(plan.id, { status: verdict.status, reason, error: verdict.error ?? undefined, done: events.done });
    return { ...verdict, reason };
  }

  /** Stopped by the early-stop hook: a result, not a failure, so not retried; its curve stays. */
  private pruned(plan: RunPlan, { events, stop }: Launched): Ending {
    const reason = stop.reason!;
    this.store.finishRun(plan.id, { status: 'pruned', reason, done: events.done });
    return { status: 'pruned', reason };
  }

  /** A stage 2 whose stage 1 was pruned in this search: pruned with it, never started. */
  private prunedWith(plan: RunPlan, depName: string): void {
    const ending = this.endPrunedWith(plan, depName);
    this.settle(plan, ending.status, ending.reason);
  }

  private endPrunedWith(plan: RunPlan, depName: string): Ending {
    const reason = `its stage 1 ${depName} was pruned`;
    this.store.finishRun(plan.id, { status: 'pruned', reason });
    return { status: 'pruned', reason };
  }

  /** A stage 2 held on its stage 1's job (Slurm's afterok) whose stage 1 did not end done. */
  private prerequisiteSkip(plan: RunPlan, depId: string, depStatus: StoredRunStatus): Ending {
    if (depStatus === 'pruned' && this.options.earlyStop) return this.endPrunedWith(plan, this.byId.get(depId)?.name ?? depId);
    const reason = prerequisiteFailed(this.store, depId, depStatus);
    this.store.finishRun(plan.id, { status: 'skipped', reason });
    return { status: 'skipped', reason };
  }

  private skip(plan: RunPlan, reason: string): void {
    this.store.finishRun(plan.id, { status: 'skipped', reason });
    this.settle(plan, 'skipped', reason);
  }

  /** Finished for this sweep: with early stopping on, a pruned run is a result too (run-lifecycle.ts). */
  private finished(status: StoredRunStatus | undefined): boolean {
    return isFinished(status, !!this.options.earlyStop);
  }

  /** Records the plan's status in this sweep, wakes whoever waits on it, reconsiders its dependents. */
  private settle(plan: RunPlan, status: StoredRunStatus, reason: string | null): void {
    this.outcome.set(plan.id, status);
    this.queued.delete(plan.id);
    for (const resolve of this.settledWaiters.get(plan.id) ?? []) resolve(status);
    this.settledWaiters.delete(plan.id);
    this.progress.runEnded(plan, status, reason);
    for (const d of this.dependents.get(plan.id) ?? []) this.consider(d);
  }

  /** Resolves with a plan's status once it settles in this sweep. */
  private settledStatus(id: string): Promise<StoredRunStatus> {
    const known = this.outcome.get(id);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => this.settledWaiters.set(id, [...(this.settledWaiters.get(id) ?? []), resolve]));
  }
}
