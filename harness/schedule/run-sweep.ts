// One sweep, start to end: recover what a dead harness left behind, record the sweep and its
// plans, schedule them, close the sweep with its status. The CLI and the tests' driver both
// run sweeps through this.
import type { StoredRunStatus } from '../store/rows.ts';
import { recoverOrphans } from './recover.ts';
import { requeueLostHandovers } from './handover-check.ts';
import { faultLine, HarnessFault } from './io-fault.ts';
import { setSweepNote } from '../store/sweep-notes.ts';
import { runSchedule, type ScheduleOptions } from './scheduler.ts';

/** What runSchedule takes, less the sweep id this records, plus what the sweep is. */
export interface SweepRequest extends Omit<ScheduleOptions, 'sweepId'> {
  spec: string;
  profile: string;
  /** Stored with the sweep: the overrides, filters and options it was started with. */
  args: unknown;
  /** Lines for the user about what the sweep did before scheduling (orphans recovered). */
  log?: (line: string) => void;
  /** The researcher's note for this sweep (--note), stored with it. */
  note?: string | null;
}

export interface SweepSummary {
  sweepId: number;
  counts: Record<StoredRunStatus, number>;
  interrupted: boolean;
  alreadyFinished: number;
  orphansRecovered: number;
  storeMs: number;
  /** The harness's own I/O fault that stopped the sweep, in one line (the CLI exits 1 with it); null if none. */
  fault: string | null;
  /**
   * 0: every run ended with a result (done, or diverged: a diverging configuration is a finding,
   * e.g. the paper's fp16 full-rank runs); 1: some run failed or was skipped; 130: interrupted.
   */
  exitCode: 0 | 1 | 130;
}

export async function runSweep(req: SweepRequest): Promise<SweepSummary> {
  const { store } = req;
  const orphans = await recoverOrphans(store, [req.executor]);
  for (const o of orphans) {
    const reattach = store.getRun(o.id)?.reason?.includes('reattaches') ?? false;
    req.log?.(`recovered ${o.name}: left running by a harness that is gone (${o.owner_host ?? '?'} pid ${o.owner_pid ?? '?'}); ${reattach ? `its job ${o.job_id} still runs, this sweep follows it` : 'it resumes'}`);
  }
  const sweepId = store.beginSweep(req.spec, req.profile, req.args);
  if (req.note) setSweepNote(store, sweepId, req.note);
  const t0 = performance.now();
  store.addPlans(sweepId, req.plans);
  const storeMs = performance.now() - t0;
  for (const line of requeueLostHandovers(store, req.plans)) req.log?.(line);
  let result;
  try {
    const { spec: _spec, profile: _profile, args: _args, log: _log, note: _note, ...schedule } = req;
    result = await runSchedule({ ...schedule, sweepId });
  } catch (err) {
    closeSweep(store, sweepId, 'failed');
    throw err;
  } finally {
    req.progress?.close();
  }
  const counts: Record<StoredRunStatus, number> = { pending: 0, running: 0, done: 0, diverged: 0, failed: 0, skipped: 0, interrupted: 0, pruned: 0 };
  for (const status of result.statuses.values()) counts[status]++;
  const unfinished = counts.pending + counts.running + counts.interrupted;
  // A stop request that came after every run had ended interrupted nothing.
  const interrupted = result.interrupted && unfinished > 0;
  const exitCode = interrupted ? 130 : result.fault !== null || counts.failed + counts.skipped + unfinished > 0 ? 1 : 0;
  // A sweep that met a fault is never 'done', even when the runs it did start all ended well.
  closeSweep(store, sweepId, interrupted ? 'interrupted' : counts.failed > 0 || result.fault !== null ? 'failed' : 'done');
  return { sweepId, counts, interrupted, alreadyFinished: result.alreadyFinished, orphansRecovered: orphans.length, storeMs, exitCode, fault: result.fault };
}

/** Closes the sweep; a store that can no longer write says so in one line (HarnessFault). */
function closeSweep(store: SweepRequest['store'], sweepId: number, status: 'done' | 'failed' | 'interrupted'): void {
  try {
    store.finishSweep(sweepId, status);
  } catch (err) {
    const line = faultLine(err, { path: store.db.name, flag: '--db' });
    throw line === null ? err : new HarnessFault(line);
  }
}
