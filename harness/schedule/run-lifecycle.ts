// What every path that starts a run shares (the scheduler, and Slurm's --detach which submits
// and exits): which statuses are finished, the resume decision, the launch request with its
// event recording, and the words of a prerequisite's skip. One implementation, so a detached
// run and a followed run start from the same config and are skipped for the same reasons.
import type { RunConfig } from '../contract/config.ts';
import { readStoredConfig } from '../contract/stored-config.ts';
import type { DoneEvent, ErrorEvent, TrainEvent } from '../contract/protocol.ts';
import type { RunRow, StoredRunStatus } from '../store/rows.ts';
import type { Store } from '../store/store.ts';
import type { LaunchRequest, Slot } from './executor.ts';
import { settleLocations, stageOneCheckpoint, withCurrentLocations } from './run-locations.ts';

/** A run in one of these is not run again (an interrupted or failed one resumes). */
export const FINISHED: ReadonlySet<StoredRunStatus> = new Set(['done', 'diverged']);

/**
 * earlyStopping: the caller stops runs early (a search's ASHA). There a 'pruned' run is a result
 * like 'done': never retried nor resumed. Without it (a grid, a detached sweep) the same run is
 * needed to the end, so a pruned run resumes from its checkpoint like an interrupted one.
 */
export const isFinished = (status: StoredRunStatus | undefined, earlyStopping = false): boolean =>
  status !== undefined && (FINISHED.has(status) || (earlyStopping && status === 'pruned'));

/** Prerequisite statuses that end its dependents without running them. */
const BLOCKING: ReadonlySet<StoredRunStatus> = new Set(['failed', 'skipped', 'diverged']);

export const blocksDependents = (status: StoredRunStatus | undefined): boolean => status !== undefined && BLOCKING.has(status);

/**
 * The config for one attempt: the stored one, with the folders of the current command line
 * (`current`, the plan; run-locations.ts), resuming when the run was started before (its
 * checkpoint is in its folder), and a stage 2 reading the checkpoint its stage 1 handed over.
 */
export function launchConfig(store: Store, row: RunRow, current?: RunConfig): RunConfig {
  // A run stored before a setting existed resumes with what it ran with, not today's default.
  const stored = readStoredConfig(row.config);
  const config = current ? withCurrentLocations(stored, current) : stored;
  config.resume = row.attempts > 0;
  if (row.depends_on && config.stage.kind === 'stage2') {
    config.stage = { ...config.stage, from: stageOneCheckpoint(store, row.depends_on, stored.stage.from, current?.stage.from ?? null) };
  }
  return config;
}

/** Why a run is skipped: its prerequisite ended without success (with that run's own reason). */
export function prerequisiteFailed(store: Store, depId: string, depStatus: StoredRunStatus, depName?: string): string {
  const dep = store.getRun(depId);
  return `prerequisite ${depName ?? dep?.name ?? depId} ${depStatus}${dep?.reason ? ` (${dep.reason})` : ''}`;
}

/** Why a run cannot start: its prerequisite is not done and this sweep will not run it. */
export function prerequisiteMissing(store: Store, depId: string, depName?: string): string {
  const dep = store.getRun(depId);
  return `prerequisite ${depName ?? dep?.name ?? depId} is ${dep?.status ?? 'not stored'} and not part of this sweep`;
}

/** The events of one launch as they reach the store: the done event is kept back for finishRun. */
export interface EventRecording {
  onEvent: (event: TrainEvent) => void;
  readonly done: DoneEvent | undefined;
  readonly error: ErrorEvent | undefined;
  readonly count: number;
  /** The child resumed from a checkpoint ahead of the stored events (see RecordingGuard). */
  readonly ahead: { step: number; recorded: number } | null;
  /** The store failed on one of this launch's events. */
  readonly fault: unknown;
}

/** What the launcher does when a launch's events can no longer be stored exactly. */
export interface RecordingGuard {
  /** Storing an event failed: nothing more of this launch is stored; stop the child. */
  onFault(err: unknown): void;
  /**
   * The child resumed from a checkpoint written while no harness stored its events (a child
   * that outlived its harness): that checkpoint must not be used; stop the child.
   */
  onAhead(step: number, recorded: number): void;
}

/**
 * Stores each event as it arrives, except the done event: that one is written with the final
 * status, in one transaction (finishRun). `also` sees every event (progress lines). Once the
 * store fails or the child starts ahead of the stored events, nothing more is stored or shown:
 * a gap in a run's rows is never filled by later ones.
 */
export function recordEvents(store: Store, runId: string, also?: (event: TrainEvent) => void, guard?: RecordingGuard): EventRecording {
  const seen: { done?: DoneEvent; error?: ErrorEvent; count: number; ahead: EventRecording['ahead']; fault: unknown } = { count: 0, ahead: null, fault: undefined };
  const record = (event: TrainEvent): void => {
    if (event.type === 'start' && event.resumedFromStep !== null && guard) {
      const recorded = store.recordedThrough(runId);
      if (event.resumedFromStep > recorded) {
        seen.ahead = { step: event.resumedFromStep, recorded };
        return guard.onAhead(event.resumedFromStep, recorded);
      }
    }
    if (event.type === 'done') seen.done = event;
    else store.recordEvent(runId, event);
    if (event.type === 'error') seen.error = event;
    also?.(event);
  };
  return {
    onEvent: (event) => {
      seen.count++;
      if (seen.ahead || seen.fault !== undefined) return;
      try {
        record(event);
      } catch (err) {
        if (!guard) throw err;
        // Called from the child's stdout reader: a throw here would end the harness.
        seen.fault = err ?? new Error('unknown store failure');
        guard.onFault(err);
      }
    },
    get done() {
      return seen.done;
    },
    get error() {
      return seen.error;
    },
    get count() {
      return seen.count;
    },
    get ahead() {
      return seen.ahead;
    },
    get fault() {
      return seen.fault;
    },
  };
}

export interface LaunchParts {
  slot: Slot;
  timeoutMs: number | null;
  signal: AbortSignal;
  /** Hold on this job (afterok); undefined: the executor decides (none, or its own record). */
  after?: string | null;
  onEvent: (event: TrainEvent) => void;
  /** Besides storing the job id with the run. */
  onJob?: (jobId: string) => void;
  /** The run as the current command line plans it: its folders win over the stored ones. */
  current?: RunConfig;
}

/**
 * Marks the run started on the slot and builds its launch request: the config of launchConfig,
 * the job id stored as soon as the executor knows it. attempt: this one's number (1 = first).
 */
export function startLaunch(store: Store, runId: string, executorName: string, parts: LaunchParts): { request: LaunchRequest; attempt: number } {
  const row = store.getRun(runId)!;
  const config = launchConfig(store, row, parts.current);
  if (parts.current) settleLocations(store, row, config, readStoredConfig(row.config));
  store.markStarted(runId, { executor: executorName, jobId: null, device: parts.slot.name });
  const request: LaunchRequest = {
    runId,
    config,
    slot: parts.slot,
    timeoutMs: parts.timeoutMs,
    signal: parts.signal,
    ...(parts.after !== undefined ? { after: parts.after } : {}),
    onJob: (jobId) => {
      store.setJobId(runId, jobId);
      parts.onJob?.(jobId);
    },
    onEvent: parts.onEvent,
  };
  return { request, attempt: row.attempts + 1 };
}
