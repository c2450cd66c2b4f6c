// `--detach` on Slurm: submit every run of a sweep and exit; the cluster runs them (a stage 2
// held on its stage 1's job). Results come back later: collectSlurmRuns() reads the events
// files of runs whose harness is gone and stores what they wrote, and the final status of
// those whose job ended. A later sweep (or `npm run report`) calls it; a later sweep also
// reattaches to jobs still running through the executor.
import type { RunPlan } from '../spec/plan.ts';
import type { Store } from '../store/store.ts';
import type { RunConfig } from '../contract/config.ts';
import type { DoneEvent, ErrorEvent } from '../contract/protocol.ts';
import { exitVerdict } from './exit-verdict.ts';
import { ownerAlive } from './recover.ts';
import { SlurmExecutor, slurmSlots } from './slurm-executor.ts';

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

const FINISHED = new Set(['done', 'diverged']);

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
  const ordered = dependencyOrder(plans);
  const signal = new AbortController().signal;
  const slot = slurmSlots(1)[0]!;

  for (const plan of ordered) {
    const row = store.getRun(plan.id);
    if (row && FINISHED.has(row.status)) {
      report.left.push({ runId: plan.id, name: plan.name, why: `already ${row.status}` });
      continue;
    }
    let after: string | null = null;
    if (plan.dependsOn) {
      const dep = store.getRun(plan.dependsOn);
      const depJob = jobOf.get(plan.dependsOn) ?? (dep?.status === 'running' && dep.executor === 'slurm' ? dep.job_id : null);
      if (depJob) after = depJob;
      else if (dep?.status !== 'done') {
        const depName = byId.get(plan.dependsOn)?.name ?? dep?.name ?? plan.dependsOn;
        const why = `prerequisite ${depName} is ${dep?.status ?? 'not stored'}`;
        if (dep && ['failed', 'skipped', 'diverged'].includes(dep.status)) store.finishRun(plan.id, { status: 'skipped', reason: why });
        report.left.push({ runId: plan.id, name: plan.name, why });
        continue;
      }
    }
    const attemptsBefore = row?.attempts ?? 0;
    if (!store.claimRun(plan.id)) {
      // Claimed by someone: a live harness, or a detached job of an earlier --detach.
      if (row?.executor === 'slurm' && row.job_id) jobOf.set(plan.id, row.job_id);
      report.left.push({ runId: plan.id, name: plan.name, why: 'already running' });
      continue;
    }
    const config: RunConfig = { ...(JSON.parse(row?.config ?? JSON.stringify(plan.config)) as RunConfig), resume: attemptsBefore > 0 };
    store.markStarted(plan.id, { executor: executor.name, jobId: null, device: 'slurm' });
    const result = await executor.launch({
      runId: plan.id,
      config,
      slot,
      timeoutMs: null,
      signal,
      after,
      onJob: (jobId) => store.setJobId(plan.id, jobId),
      onEvent: (event) => store.recordEvent(plan.id, event),
    });
    if (!result.jobId) throw new Error(`sbatch gave no job id for ${plan.name}`);
    jobOf.set(plan.id, result.jobId);
    report.submitted.push({ runId: plan.id, name: plan.name, jobId: result.jobId, after });
  }
  return report;
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
    let done: DoneEvent | undefined;
    let error: ErrorEvent | undefined;
    const result = await executor.collect(row.id, row.run_dir, (event) => {
      if (event.type === 'done') done = event;
      else store.recordEvent(row.id, event);
      if (event.type === 'error') error = event;
    });
    // A resumed attempt's interrupted done event is superseded by the last one: keep only that.
    if (!result) {
      if (done) store.recordEvent(row.id, done);
      continue;
    }
    const verdict = exitVerdict(result, done, error, false);
    store.finishRun(row.id, { status: verdict.status, reason: verdict.reason, error: verdict.error ?? undefined, done });
    finished.push(row.id);
  }
  return finished;
}
