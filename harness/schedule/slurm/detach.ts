// `--detach` on Slurm: submit every run of a sweep and exit; the cluster runs them (a stage 2
// held on its stage 1's job). Results come back later: collectSlurmRuns() reads the events
// files of runs whose harness is gone and stores what they wrote, and the final status of
// those whose job ended. A later sweep (or `npm run report`) calls it; a later sweep also
// reattaches to jobs still running through the executor.
import type { RunPlan } from '../../spec/plan.ts';
import type { Store } from '../../store/store.ts';
import { exitVerdict } from '../exit-verdict.ts';
import { ownerAlive } from '../recover.ts';
import { blocksDependents, isFinished, prerequisiteFailed, recordEvents, startLaunch } from '../run-lifecycle.ts';
import { SlurmExecutor, slurmSlots } from './executor.ts';

export interface DetachedJob {
  runId: string;
  name: string;
  jobId: string;
  /** The job it waits for (afterok), or null. */
  after: string | null;
}

export interface DetachReport {
  submitted: DetachedJob[];
  /** Runs not submitted: already finished, trained by another live harness, or their prerequisite failed. */
  left: { runId: string; name: string; why: string }[];
}

/**
 * Submits the sweep's unfinished runs, prerequisites first, each stage 2 with
 * --dependency=afterok:<its stage 1's job>, and returns without following any of them. The
 * rows stay 'running' with their job ids; a run whose earlier job is still queued or running
 * is reattached to, not submitted again.
 */
export async function submitDetached(store: Store, plans: RunPlan[], executor: SlurmExecutor): Promise<DetachReport> {
  const report: DetachReport = { submitted: [], left: [] };
  const jobOf = new Map<string, string>();
  const byId = new Map(plans.map((p) => [p.id, p]));
  const signal = new AbortController().signal;
  const slot = slurmSlots(1)[0]!;

  for (const plan of dependencyOrder(plans)) {
    const row = store.getRun(plan.id);
    if (row && isFinished(row.status)) {
      report.left.push({ runId: plan.id, name: plan.name, why: `already ${row.status}` });
      continue;
    }
    const held = heldOn(store, plan, jobOf, byId.get(plan.dependsOn ?? '')?.name);
    if (typeof held !== 'string' && held !== null) {
      report.left.push({ runId: plan.id, name: plan.name, why: held.why });
      continue;
    }
    if (!store.claimRun(plan.id)) {
      // Claimed by someone: a live harness, or a detached job of an earlier --detach.
      if (row?.executor === 'slurm' && row.job_id) jobOf.set(plan.id, row.job_id);
      report.left.push({ runId: plan.id, name: plan.name, why: 'already running' });
      continue;
    }
    const { request } = startLaunch(store, plan.id, executor.name, { slot, timeoutMs: null, signal, after: held, onEvent: (event) => store.recordEvent(plan.id, event), current: plan.config });
    const result = await executor.launch(request);
    if (!result.jobId) throw new Error(`sbatch gave no job id for ${plan.name}`);
    jobOf.set(plan.id, result.jobId);
    report.submitted.push({ runId: plan.id, name: plan.name, jobId: result.jobId, after: held });
  }
  return report;
}

/**
 * The job a plan is held on (afterok): its prerequisite's job submitted now or by an earlier
 * --detach; null without a prerequisite or when that one is done; else why it is not submitted
 * (a prerequisite that failed skips it, as the scheduler does).
 */
function heldOn(store: Store, plan: RunPlan, jobOf: Map<string, string>, depName: string | undefined): string | null | { why: string } {
  if (!plan.dependsOn) return null;
  const dep = store.getRun(plan.dependsOn);
  const depJob = jobOf.get(plan.dependsOn) ?? (dep?.status === 'running' && dep.executor === 'slurm' ? dep.job_id : null);
  if (depJob) return depJob;
  if (dep?.status === 'done') return null;
  if (dep && blocksDependents(dep.status)) {
    const why = prerequisiteFailed(store, plan.dependsOn, dep.status, depName);
    store.finishRun(plan.id, { status: 'skipped', reason: why });
    return { why };
  }
  return { why: `prerequisite ${depName ?? dep?.name ?? plan.dependsOn} is ${dep?.status ?? 'not stored'}` };
}

/** Plans with each prerequisite (within the list) before the runs that need it. */
function dependencyOrder(plans: RunPlan[]): RunPlan[] {
  const byId = new Map(plans.map((p) => [p.id, p]));
  const placed = new Set<string>();
  const out: RunPlan[] = [];
  const place = (p: RunPlan, depth: number): void => {
    if (placed.has(p.id) || depth > plans.length) return;
    const dep = p.dependsOn ? byId.get(p.dependsOn) : undefined;
    if (dep) place(dep, depth + 1);
    placed.add(p.id);
    out.push(p);
  };
  for (const p of plans) place(p, 0);
  return out;
}

export interface CollectOptions {
  /** A foreign host's run counts as unattended after this long without a heartbeat. */
  staleMs?: number;
}

/**
 * Stores what detached (or orphaned) Slurm runs wrote since the last look, and the final
 * status of those whose job has ended. Runs a live harness is following are left to it.
 * Returns the ids of the runs that reached a final status now.
 */
export async function collectSlurmRuns(store: Store, executor: SlurmExecutor, options: CollectOptions = {}): Promise<string[]> {
  const staleMs = options.staleMs ?? 10 * 60_000;
  const finished: string[] = [];
  for (const row of store.runningRuns()) {
    if (row.executor !== executor.name || !row.job_id) continue;
    if (ownerAlive(row.owner_host, row.owner_pid, row.heartbeat_at, staleMs)) continue;
    const events = recordEvents(store, row.id);
    const result = await executor.collect(row.id, row.run_dir, events.onEvent);
    // A resumed attempt's interrupted done event is superseded by the last one: keep only that.
    if (!result) {
      if (events.done) store.recordEvent(row.id, events.done);
      continue;
    }
    const verdict = exitVerdict(result, events.done, events.error, false);
    store.finishRun(row.id, { status: verdict.status, reason: verdict.reason, error: verdict.error ?? undefined, done: events.done });
    finished.push(row.id);
  }
  return finished;
}
