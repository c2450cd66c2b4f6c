// Runs a sweep's plans on the slots: at most one run per slot, the most expensive ready run
// first, a stage 2 only after its stage 1 is done (else it is skipped, with the reason, and so
// are the runs that need it). Runs already done or diverged are not run again; interrupted ones
// resume from their checkpoints; a run another live harness is training is waited for.
// On an executor whose cluster holds dependencies (Slurm's afterok), a stage 2 is handed over
// as soon as its stage 1 has a job id: the cluster starts it when the stage 1 has succeeded.
import PQueue from 'p-queue';
import type { RunPlan } from '../spec/plan.ts';
import type { StoredRunStatus } from '../store/rows.ts';
import type { Store } from '../store/store.ts';
import type { RunConfig } from '../contract/config.ts';
import type { DoneEvent, ErrorEvent } from '../contract/protocol.ts';
import type { Executor, Slot } from './executor.ts';
import type { EarlyStopHook } from './early-stop-hook.ts';
import { exitVerdict, type Verdict } from './exit-verdict.ts';
import { silentProgress, type ProgressSink } from './progress-sink.ts';
import { ownerAlive, recoverOrphans } from './recover.ts';

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
  /** Early stopping (a search's ASHA): may stop a run, which then ends 'pruned' and counts as final. */
  earlyStop?: EarlyStopHook;
}

export interface ScheduleResult {
  /** Each plan's status at the end (plans never started because of an interrupt keep their stored status). */
  statuses: Map<string, StoredRunStatus>;
  interrupted: boolean;
  /** Plans that were finished before this sweep began and were not run again. */
  alreadyFinished: number;
}

/** How a run's turn in this sweep ended. */
interface Ending {
  status: StoredRunStatus;
  reason: string;
}

const FINAL: ReadonlySet<StoredRunStatus> = new Set(['done', 'diverged']);

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
  const { store, plans, executor } = options;
  const signal = options.signal ?? new AbortController().signal;
  const progress = options.progress ?? silentProgress;
  // With early stopping on, a pruned run is a result; without it (a grid), a pruned run resumes to the end.
  const isFinal = (status: StoredRunStatus | undefined): boolean => !!status && (FINAL.has(status) || (!!options.earlyStop && status === 'pruned'));
  const retries = options.retries ?? 2;
  const backoffMs = options.backoffMs ?? 2000;
  const pollMs = options.pollMs ?? 1000;
  const concurrency = Math.max(1, Math.min(options.slots.length, options.maxParallel ?? Infinity));
  const freeSlots = options.slots.slice(0, concurrency);

  const byId = new Map(plans.map((p) => [p.id, p]));
  const dependents = new Map<string, RunPlan[]>();
  for (const p of plans) if (p.dependsOn) dependents.set(p.dependsOn, [...(dependents.get(p.dependsOn) ?? []), p]);
  // Longest first by the whole chain a run starts, not its own cost alone: a short stage 1 that
  // a long stage 2 waits on goes early, so the sweep does not end on a lone stage 2.
  const chainCost = new Map<string, number>();
  const costOfChain = (plan: RunPlan): number => {
    let cost = chainCost.get(plan.id);
    if (cost === undefined) {
      cost = plan.expectedCost + Math.max(0, ...(dependents.get(plan.id) ?? []).map(costOfChain));
      chainCost.set(plan.id, cost);
    }
    return cost;
  };
  const outcome = new Map<string, StoredRunStatus>();
  // Paused until every initially ready plan is queued, so the first to start are the most expensive.
  const queue = new PQueue({ concurrency, autoStart: false });
  const watchers = new Set<Promise<void>>();
  const inFlight = new Set<string>();
  /** Plans handed to the queue and not yet settled: never queued twice. */
  const queued = new Set<string>();
  /** The executor's current job of each plan in flight (for a dependent held on it). */
  const jobOf = new Map<string, string>();
  const settledWaiters = new Map<string, ((status: StoredRunStatus) => void)[]>();
  /** Resolves with a plan's status once it settles in this sweep. */
  const settledStatus = (id: string): Promise<StoredRunStatus> =>
    outcome.has(id) ? Promise.resolve(outcome.get(id)!) : new Promise((resolve) => settledWaiters.set(id, [...(settledWaiters.get(id) ?? []), resolve]));
  const heartbeat = setInterval(() => store.heartbeat([...inFlight]), options.heartbeatMs ?? 15_000);
  heartbeat.unref();

  const settle = (plan: RunPlan, status: StoredRunStatus, reason: string | null): void => {
    outcome.set(plan.id, status);
    queued.delete(plan.id);
    for (const resolve of settledWaiters.get(plan.id) ?? []) resolve(status);
    settledWaiters.delete(plan.id);
    progress.runEnded(plan, status, reason);
    for (const d of dependents.get(plan.id) ?? []) consider(d);
  };

  const skip = (plan: RunPlan, reason: string): void => {
    store.finishRun(plan.id, { status: 'skipped', reason });
    settle(plan, 'skipped', reason);
  };

  /** Enqueues a plan whose prerequisite is done, skips one whose prerequisite ended otherwise, else waits. */
  const consider = (plan: RunPlan): void => {
    if (signal.aborted || outcome.has(plan.id) || queued.has(plan.id)) return;
    const depId = plan.dependsOn;
    if (depId) {
      const dep = byId.get(depId);
      const depName = dep?.name ?? store.getRun(depId)?.name ?? depId;
      let depStatus = outcome.get(depId);
      if (!dep) {
        const row = store.getRun(depId);
        if (row?.status === 'running') return watch(plan, depId);
        depStatus = row?.status;
        if (depStatus !== 'done') return skip(plan, `prerequisite ${depName} is ${depStatus ?? 'not stored'} and not part of this sweep`);
      }
      if (depStatus === undefined) {
        // The cluster holds it on the prerequisite's job; otherwise settle() of the prerequisite calls back.
        if (executor.holdsDependencies && jobOf.has(depId)) enqueue(plan, depId);
        return;
      }
      if (depStatus === 'pruned' && options.earlyStop) {
        const why = `its stage 1 ${depName} was pruned`;
        store.finishRun(plan.id, { status: 'pruned', reason: why });
        return settle(plan, 'pruned', why);
      }
      if (depStatus !== 'done') {
        const depReason = store.getRun(depId)?.reason;
        return skip(plan, `prerequisite ${depName} ${depStatus}${depReason ? ` (${depReason})` : ''}`);
      }
    }
    enqueue(plan, null);
  };

  /** heldOn: the prerequisite still running whose job the cluster holds this plan on, else null. */
  const enqueue = (plan: RunPlan, heldOn: string | null): void => {
    queued.add(plan.id);
    void queue.add(() => execute(plan, heldOn), { priority: costOfChain(plan) });
  };

  const prerequisiteSkip = (plan: RunPlan, depId: string, depStatus: StoredRunStatus): Ending => {
    const dep = store.getRun(depId);
    const reason = `prerequisite ${dep?.name ?? depId} ${depStatus}${dep?.reason ? ` (${dep.reason})` : ''}`;
    store.finishRun(plan.id, { status: 'skipped', reason });
    return { status: 'skipped', reason };
  };

  /** Waits, off the queue, until another harness's run `watchedId` leaves 'running', then reconsiders `plan`. */
  const watch = (plan: RunPlan, watchedId: string): void => {
    progress.runWaiting(plan, `${store.getRun(watchedId)?.name ?? watchedId} is running in another harness`);
    const w = (async () => {
      for (;;) {
        const row = store.getRun(watchedId);
        if (signal.aborted || row?.status !== 'running') return;
        // Its harness may die while we wait: then it is an orphan like those found at the start.
        if (!ownerAlive(row.owner_host, row.owner_pid, row.heartbeat_at, options.staleMs ?? 10 * 60_000)) {
          await recoverOrphans(store, [executor], { staleMs: options.staleMs });
          continue;
        }
        await sleep(pollMs, signal);
      }
    })().then(() => {
      watchers.delete(w);
      if (signal.aborted) return;
      const row = store.getRun(plan.id);
      if (row && isFinal(row.status)) settle(plan, row.status, row.reason);
      else consider(plan);
    });
    watchers.add(w);
  };

  const execute = async (plan: RunPlan, heldOn: string | null): Promise<void> => {
    if (signal.aborted) return void queued.delete(plan.id);
    const row = store.getRun(plan.id);
    if (row && isFinal(row.status)) return settle(plan, row.status, row.reason);
    if (!store.claimRun(plan.id)) {
      queued.delete(plan.id);
      return watch(plan, plan.id);
    }
    const slot = freeSlots.shift()!;
    inFlight.add(plan.id);
    let verdict: Ending;
    try {
      verdict = await attempts(plan, slot, heldOn);
    } finally {
      inFlight.delete(plan.id);
      jobOf.delete(plan.id);
      freeSlots.push(slot);
    }
    settle(plan, verdict.status, verdict.reason);
  };

  const attempts = async (plan: RunPlan, slot: Slot, heldOn: string | null): Promise<Ending> => {
    for (let attempt = 1; ; attempt++) {
      // Held on the prerequisite's current job while it has not settled; after that, an ordinary launch.
      const after = heldOn && !outcome.has(heldOn) ? (jobOf.get(heldOn) ?? null) : undefined;
      if (heldOn && after === undefined && outcome.get(heldOn) !== 'done') return prerequisiteSkip(plan, heldOn, outcome.get(heldOn)!);
      const row = store.getRun(plan.id)!;
      const config = launchConfig(store, row.config, row.attempts, row.depends_on);
      store.markStarted(plan.id, { executor: executor.name, jobId: null, device: slot.name });
      progress.runStarted(plan, slot.name, row.attempts + 1);
      let done: DoneEvent | undefined;
      let error: ErrorEvent | undefined;
      let events = 0;
      // Early stopping stops this run alone, through the same path as a sweep's stop.
      const stopRun = new AbortController();
      let pruneReason: string | null = null;
      const result = await executor.launch({
        runId: plan.id,
        config,
        slot,
        timeoutMs: options.timeoutMs ?? null,
        signal: options.earlyStop ? AbortSignal.any([signal, stopRun.signal]) : signal,
        ...(after !== undefined ? { after } : {}),
        onJob: (jobId) => {
          store.setJobId(plan.id, jobId);
          jobOf.set(plan.id, jobId);
          if (executor.holdsDependencies) for (const d of dependents.get(plan.id) ?? []) consider(d);
        },
        onEvent: (event) => {
          events++;
          // The done event is written with the final status, in one transaction.
          if (event.type === 'done') done = event;
          else store.recordEvent(plan.id, event);
          if (event.type === 'error') error = event;
          progress.runEvent(plan, event);
          const stop = pruneReason === null ? (options.earlyStop?.onEvent(plan, event) ?? null) : null;
          if (stop !== null) {
            pruneReason = stop;
            stopRun.abort();
          }
        },
      });
      if (pruneReason !== null && !signal.aborted && done?.status !== 'done') {
        store.finishRun(plan.id, { status: 'pruned', reason: pruneReason, done });
        return { status: 'pruned', reason: pruneReason };
      }
      if (after !== undefined && !done && !signal.aborted) {
        // A held job that ended without a result: its prerequisite failed (the cluster never
        // started it), or the prerequisite was resubmitted and this job waited on the old one.
        const depStatus = await settledStatus(heldOn!);
        if (depStatus !== 'done') return prerequisiteSkip(plan, heldOn!, depStatus);
        if (events === 0) {
          attempt--;
          continue;
        }
      }
      const verdict = exitVerdict(result, done, error, signal.aborted);
      if (verdict.retry && attempt <= retries && !signal.aborted) {
        const delay = Math.min(60_000, backoffMs * 2 ** (attempt - 1));
        if (verdict.error) store.recordEvent(plan.id, { type: 'error', kind: 'internal', message: verdict.error });
        progress.runRetrying(plan, verdict.reason, delay);
        await sleep(delay, signal);
        if (!signal.aborted) continue;
        const stopped: Verdict = { status: 'interrupted', reason: 'sweep interrupted while waiting to retry a crash', retry: false, error: verdict.error };
        store.finishRun(plan.id, { status: stopped.status, reason: stopped.reason });
        return stopped;
      }
      const reason = verdict.retry && attempt > 1 ? `${verdict.reason} (after ${attempt} attempts)` : verdict.reason;
      store.finishRun(plan.id, { status: verdict.status, reason, error: verdict.error ?? undefined, done });
      return { ...verdict, reason };
    }
  };

  const alreadyFinished = new Map<string, StoredRunStatus>();
  for (const p of plans) {
    const status = store.getRun(p.id)?.status;
    if (status && isFinal(status)) {
      outcome.set(p.id, status);
      alreadyFinished.set(p.id, status);
    }
  }
  progress.sweepStarted(plans, alreadyFinished);
  for (const p of plans) if (!outcome.has(p.id)) consider(p);
  queue.start();

  try {
    for (;;) {
      await queue.onIdle();
      if (watchers.size === 0) break;
      await Promise.race(watchers);
    }
  } finally {
    clearInterval(heartbeat);
  }

  const statuses = new Map<string, StoredRunStatus>();
  for (const p of plans) statuses.set(p.id, outcome.get(p.id) ?? store.getRun(p.id)?.status ?? 'pending');
  return { statuses, interrupted: signal.aborted, alreadyFinished: alreadyFinished.size };
}

/**
 * The config for one attempt: the stored one, resuming when the run was started before
 * (its checkpoint is in its folder), and a stage 2 reading the checkpoint its stage 1 handed over.
 */
function launchConfig(store: Store, stored: string, attemptsBefore: number, dependsOn: string | null): RunConfig {
  const config = JSON.parse(stored) as RunConfig;
  config.resume = attemptsBefore > 0;
  if (dependsOn && config.stage.kind === 'stage2') {
    config.stage.from = store.handoverCheckpoint(dependsOn) ?? config.stage.from;
  }
  return config;
}
