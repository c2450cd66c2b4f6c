// A search, start to end. Trials are proposed one by one, each from the trials before it that
// have finished: trial i is proposed from trials 0 .. i - maxParallel (so at most maxParallel
// run at once) and its random stream is (seed, i). Nothing else enters a proposal, so a search
// killed at any point and rerun proposes the same trials, and finished trials are not run
// again: their runs are ordinary runs with config-hash ids, scheduled by runSchedule.
import type { Executor, Slot } from '../schedule/executor.ts';
import { silentProgress, type ProgressSink } from '../schedule/progress-sink.ts';
import { requeueLostHandovers } from '../schedule/handover-check.ts';
import { recoverOrphans } from '../schedule/recover.ts';
import { runSchedule } from '../schedule/scheduler.ts';
import { HarnessFault } from '../schedule/io-fault.ts';
import type { RunPlan } from '../spec/plan.ts';
import type { ResolvedSearch } from '../spec/search-space.ts';
import { addTrial, finishTrial, openSearch, searchRungs, searchTrials, type RungRow, type SearchRow, type TrialRow } from '../store/search-store.ts';
import type { Store } from '../store/store.ts';
import { setSweepNote } from '../store/sweep-notes.ts';
import { AshaMonitor, type AshaConfig } from './asha-monitor.ts';
import { rngFor } from './prng.ts';
import { randomSampler, type Params, type Sampler, type TrialResult } from './sampler.ts';
import { tpeSampler } from './tpe.ts';
import { trialOutcome } from './trial-outcome.ts';

export interface SearchRequest {
  store: Store;
  spec: string;
  profile: string;
  /** Identity of the search: the same key reruns (and extends) the same search. */
  key: string;
  search: ResolvedSearch;
  /** ASHA's resolved rungs, or null without early stopping. */
  asha: AshaConfig | null;
  /** One trial's runs for its settings. */
  expand: (params: Params) => RunPlan[];
  executor: Executor;
  slots: Slot[];
  retries?: number;
  timeoutMs?: number | null;
  signal: AbortSignal;
  progress?: ProgressSink;
  /** Stored with the sweep row. */
  args: unknown;
  /** The researcher's note for this sweep (--note), stored with it. */
  note?: string | null;
  log: (line: string) => void;
}

export interface SearchSummary {
  sweepId: number;
  searchId: number;
  trials: TrialRow[];
  interrupted: boolean;
  exitCode: 0 | 1 | 130;
}

const FINISHED = new Set(['done', 'pruned', 'diverged']);

export function samplerFor(search: ResolvedSearch): Sampler {
  return search.strategy === 'tpe' ? tpeSampler({ startupTrials: search.startupTrials }) : randomSampler;
}

/** The trials a proposal sees: finished ones with their loss (lower is better), none for a trial without a value. */
export function historyOf(rows: readonly TrialRow[], search: ResolvedSearch, rungs: readonly RungRow[]): TrialResult[] {
  const sign = search.metric.direction === 'maximize' ? -1 : 1;
  return rows.map((r) => {
    const stop = r.status === 'pruned' ? rungs.find((g) => g.trial === r.trial && g.decision === 'prune') : undefined;
    return {
      params: JSON.parse(r.params) as Params,
      loss: r.value === null ? null : sign * r.value,
      pruned: stop ? { rung: stop.rung, value: stop.value } : null,
    };
  });
}

/** What one search process shares between its trials. */
interface SearchContext {
  req: SearchRequest;
  sweepId: number;
  search: SearchRow;
  monitor: AshaMonitor | null;
  progress: ProgressSink;
  failed: boolean;
}

/** Runs one trial's runs on its slot and stores how the trial ended (an interrupted one stays pending). */
async function runTrial(ctx: SearchContext, trial: TrialRow, plans: RunPlan[], slot: Slot): Promise<void> {
  const { req } = ctx;
  ctx.monitor?.track(plans, trial.trial, trial.basis);
  const { fault } = await runSchedule({
    store: req.store, sweepId: ctx.sweepId, plans, executor: req.executor, slots: [slot], retries: req.retries,
    timeoutMs: req.timeoutMs, signal: req.signal, progress: ctx.progress, ...(ctx.monitor ? { earlyStop: ctx.monitor } : {}),
  });
  // The harness's own I/O fault ends the search with its one line (the CLI prints it).
  if (fault !== null) throw new HarnessFault(fault);
  const outcome = trialOutcome(plans.map((p) => req.store.getRun(p.id)!), req.search.metric);
  if (!outcome) return;
  finishTrial(req.store, ctx.search.id, trial.trial, outcome);
  if (outcome.status === 'failed') ctx.failed = true;
  req.log(trialLine(trial.trial, outcome.status, outcome.value, outcome.note, req.search));
}

/** Trials in order, each once the trials it is proposed from have finished and a slot is free. */
async function runTrials(ctx: SearchContext): Promise<void> {
  const { req } = ctx;
  const { search } = req;
  const freeSlots = req.slots.slice(0, Math.max(1, Math.min(req.slots.length, search.maxParallel)));
  const running = new Map<number, Promise<void>>();
  for (let i = 0; i < search.trials && !req.signal.aborted; i++) {
    const basis = Math.max(0, i - search.maxParallel + 1);
    while (!req.signal.aborted && ([...running.keys()].some((t) => t < basis) || freeSlots.length === 0)) {
      await Promise.race(running.values());
    }
    if (req.signal.aborted) break;
    const { trial, plans, fresh } = trialAt(req, ctx.search, ctx.sweepId, i, basis);
    if (!fresh && FINISHED.has(trial.status)) continue;
    const slot = freeSlots.shift()!;
    const p = runTrial(ctx, trial, plans, slot).finally(() => {
      freeSlots.push(slot);
      running.delete(i);
    });
    running.set(i, p);
  }
  await Promise.all(running.values());
}

export async function runSearch(req: SearchRequest): Promise<SearchSummary> {
  const { store, search } = req;
  for (const o of await recoverOrphans(store, [req.executor])) req.log(`recovered ${o.name}: left running by a harness that is gone; it resumes`);
  const sweepId = store.beginSweep(req.spec, req.profile, req.args);
  if (req.note) setSweepNote(store, sweepId, req.note);
  const row = openSearch(store, { key: req.key, spec: req.spec, profile: req.profile, strategy: search.strategy, seed: search.seed, settings: search });
  const ctx: SearchContext = {
    req, sweepId, search: row, monitor: req.asha ? new AshaMonitor(store, row.id, req.asha) : null,
    progress: onceStarted(req.progress, search.trials), failed: false,
  };
  try {
    await runTrials(ctx);
  } catch (err) {
    store.finishSweep(sweepId, 'failed');
    throw err;
  } finally {
    ctx.progress.close();
  }
  const trials = searchTrials(store, row.id);
  const unfinished = trials.length < search.trials || trials.some((t) => t.status === 'pending');
  const interrupted = req.signal.aborted && unfinished;
  store.finishSweep(sweepId, interrupted ? 'interrupted' : ctx.failed ? 'failed' : 'done');
  return { sweepId, searchId: row.id, trials, interrupted, exitCode: interrupted ? 130 : ctx.failed ? 1 : 0 };
}

/** Trial i: the stored one (a rerun), or a new proposal from trials 0 .. basis-1, stored before it runs. */
function trialAt(req: SearchRequest, search: SearchRow, sweepId: number, i: number, basis: number): { trial: TrialRow; plans: RunPlan[]; fresh: boolean } {
  const stored = searchTrials(req.store, search.id);
  const existing = stored.find((t) => t.trial === i);
  if (existing) {
    const plans = req.expand(JSON.parse(existing.params) as Params);
    req.store.addPlans(sweepId, plans);
    // A trial run again after a stop: its stage 2 may need a stage-1 hand-over that is gone since.
    for (const line of requeueLostHandovers(req.store, plans)) req.log(line);
    return { trial: existing, plans, fresh: false };
  }
  const history = historyOf(stored.filter((t) => t.trial < basis), req.search, searchRungs(req.store, search.id));
  const proposal = samplerFor(req.search).propose(req.search.space, history, rngFor(req.search.seed, i));
  const plans = req.expand(proposal.params);
  req.store.addPlans(sweepId, plans); // the runs exist before the trial row that refers to them
  addTrial(req.store, { searchId: search.id, trial: i, params: proposal.params, runIds: plans.map((p) => p.id), basis, reason: proposal.reason });
  req.log(`trial ${i}: ${formatParams(proposal.params)} (${proposal.reason})`);
  return { trial: searchTrials(req.store, search.id).find((t) => t.trial === i)!, plans, fresh: true };
}

export function formatParams(params: Params): string {
  return Object.entries(params).map(([k, v]) => `${k}=${String(v)}`).join(' ');
}

function trialLine(i: number, status: string, value: number | null, note: string | null, search: ResolvedSearch): string {
  const score = value === null ? '' : ` ${search.metric.value} ${value.toFixed(2)}`;
  return `trial ${i} ${status}${score}${note && status !== 'done' ? `: ${note}` : ''}`;
}

/**
 * The scheduler announces each trial's runs as a sweep; a progress view is started once, with
 * the search's whole budget (trials x runs per trial) as its total.
 */
function onceStarted(sink: ProgressSink | undefined, trials: number): ProgressSink & { close(): void } {
  let started = false;
  const base = sink ?? silentProgress;
  return {
    sweepStarted: (plans, already) => {
      if (!started) base.sweepStarted(Array.from({ length: trials * plans.length }, (_, i) => plans[i % plans.length]!), already);
      started = true;
    },
    runStarted: (...a) => base.runStarted(...a),
    runEvent: (...a) => base.runEvent(...a),
    runRetrying: (...a) => base.runRetrying(...a),
    runWaiting: (...a) => base.runWaiting(...a),
    runEnded: (...a) => base.runEnded(...a),
    close: () => base.close(),
  };
}
