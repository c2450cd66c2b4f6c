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
}

/**
 * Stores each event as it arrives, except the done event: that one is written with the final
 * status, in one transaction (finishRun). `also` sees every event (progress lines).
 */
export function recordEvents(store: Store, runId: string, also?: (event: TrainEvent) => void): EventRecording {
  const seen: { done?: DoneEvent; error?: ErrorEvent; count: number } = { count: 0 };
  return {
    onEvent: (event) => {
      seen.count++;
      if (event.type === 'done') seen.done = event;
      else store.recordEvent(runId, event);
      if (event.type === 'error') seen.error = event;
      also?.(event);
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
