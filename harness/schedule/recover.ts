// After a harness dies (kill -9, a lost machine), its runs stay 'running' in the database.
// A later sweep finds them: the owner process is gone (same host: its pid; another host: no
// heartbeat for staleMs), so any surviving child is stopped and the run becomes
// 'interrupted', which the scheduler resumes from its checkpoint. A cluster job (Slurm) is not
// stopped: it does not need its harness, and the rerun's launch reattaches to it.
import { hostname } from 'node:os';
import type { RunRow } from '../store/rows.ts';
import type { Store } from '../store/store.ts';
import type { Executor } from './executor.ts';
import { pidAlive } from './local-executor.ts';

export interface RecoverOptions {
  /** A foreign host's run counts as orphaned after this long without a heartbeat. */
  staleMs?: number;
}

export function ownerAlive(host: string | null, pid: number | null, heartbeatAt: string | null, staleMs: number): boolean {
  if (host === hostname() && pid !== null) return pid === process.pid || pidAlive(pid);
  if (!heartbeatAt) return false;
  return Date.now() - Date.parse(heartbeatAt) < staleMs;
}

const executorLabel = (name: string): string => (name === 'slurm' ? 'Slurm' : name);

export async function recoverOrphans(store: Store, executors: Executor[], options: RecoverOptions = {}): Promise<RunRow[]> {
  const staleMs = options.staleMs ?? 10 * 60_000;
  const orphans = store.runningRuns().filter((r) => !ownerAlive(r.owner_host, r.owner_pid, r.heartbeat_at, staleMs));
  for (const run of orphans) {
    const executor = executors.find((e) => e.name === run.executor);
    const job = run.job_id ? { jobId: run.job_id, runDir: run.run_dir } : null;
    if (executor?.reattaches && job && (await executor.isAlive(job))) {
      store.finishRun(run.id, { status: 'interrupted', reason: `its harness ended while its ${executorLabel(executor.name)} job ran; the rerun reattaches` });
      continue;
    }
    // The child can outlive its harness; two trainers must never write one run folder. Killed, not
    // asked to stop: a checkpoint it wrote now would be ahead of the events its dead harness stored.
    if (executor && job) await (executor.kill ? executor.kill(job) : executor.stop(job));
    store.finishRun(run.id, {
      status: 'interrupted',
      reason: `orphaned: its harness (${run.owner_host ?? '?'} pid ${run.owner_pid ?? '?'}) ended while it ran; a rerun resumes it`,
    });
  }
  // Sweeps have no heartbeat: only those of this host, whose pid can be checked, are closed.
  store.closeDeadSweeps((host, pid) => host !== hostname() || pid === null || pid === process.pid || pidAlive(pid));
  return orphans;
}
