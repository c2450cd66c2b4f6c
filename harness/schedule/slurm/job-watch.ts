// Asking the cluster about jobs: every launch asks at the same moments (pause() wakes on
// multiples of pollMs), and the questions asked in one tick go to the cluster as one squeue
// call, so a sweep of a hundred jobs costs one squeue per poll, not a hundred.
import { setTimeout as sleep } from 'node:timers/promises';
import { isActive, queryJobs, type JobInfo } from './commands.ts';

export class JobWatch {
  /** Job-state questions waiting for the next squeue call. */
  private readonly asking = new Map<string, { resolve: (info: JobInfo) => void; reject: (err: unknown) => void }[]>();
  private readonly wakers = new WeakMap<AbortSignal, Set<() => void>>();

  constructor(private readonly pollMs: number) {}

  /** One job's state, from the next batched squeue (sacct for a job squeue forgot). */
  jobState(jobId: string): Promise<JobInfo> {
    return new Promise((resolve, reject) => {
      const first = this.asking.size === 0;
      this.asking.set(jobId, [...(this.asking.get(jobId) ?? []), { resolve, reject }]);
      if (!first) return;
      setTimeout(() => {
        const asked = new Map(this.asking);
        this.asking.clear();
        queryJobs([...asked.keys()]).then(
          (found) => asked.forEach((waiters, id) => waiters.forEach((w) => w.resolve(found.get(id)!))),
          (err: unknown) => asked.forEach((waiters) => waiters.forEach((w) => w.reject(err))),
        );
      }, 5);
    });
  }

  async waitForEnd(jobId: string, limitMs = 180_000): Promise<JobInfo> {
    const deadline = performance.now() + limitMs;
    for (;;) {
      const info = await this.jobState(jobId);
      if (!isActive(info.phase) || performance.now() > deadline) return info;
      await sleep(Math.min(this.pollMs, 1000));
    }
  }

  /** Waits until the next multiple of pollMs; an abort (Ctrl-C) cuts it short so the job is cancelled at once. */
  async pause(signal: AbortSignal, cancelRequested: boolean): Promise<void> {
    const interval = cancelRequested ? Math.min(this.pollMs, 1000) : this.pollMs;
    const ms = interval - (Date.now() % interval);
    if (signal.aborted) return sleep(ms);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const wakers = this.wakers.get(signal) ?? this.listen(signal);
      wakers.add(done);
      function done(): void {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      }
    });
  }

  /** One abort listener per signal, however many launches wait on it. */
  private listen(signal: AbortSignal): Set<() => void> {
    const wakers = new Set<() => void>();
    this.wakers.set(signal, wakers);
    signal.addEventListener('abort', () => [...wakers].forEach((wake) => wake()), { once: true });
    return wakers;
  }
}
