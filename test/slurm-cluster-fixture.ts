// The one-node test cluster for the Slurm tests: started with scripts/slurm-cluster.sh when
// sinfo does not answer. A machine where that cannot work fails the tests with the reason.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterAnswers } from '../harness/schedule/slurm/commands.ts';
import { SlurmExecutor, slurmSlots, type SlurmExecutorOptions, type SlurmLaunchRequest } from '../harness/schedule/slurm/executor.ts';
import type { RunPlan } from '../harness/spec/plan.ts';
import type { TrainEvent } from '../harness/contract/protocol.ts';
import { SCRIPTED_CHILD } from './fixtures/harness-scripts.ts';

const SCRIPT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', 'scripts', 'slurm-cluster.sh');

export async function ensureCluster(): Promise<void> {
  if (await clusterAnswers()) return;
  try {
    execFileSync('bash', [SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer; message: string };
    const why = `${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}`.trim() || err.message;
    throw new Error(`the Slurm tests need a cluster: scripts/slurm-cluster.sh could not start one (run it as root to see why): ${why}`);
  }
  if (!(await clusterAnswers())) throw new Error('scripts/slurm-cluster.sh finished but sinfo still does not answer');
}

/** The scripted child as the jobs' trainer, polled fast so the tests stay short. */
export const SCRIPTED_JOB = [process.execPath, '--import', 'tsx', SCRIPTED_CHILD];
export const scriptedSlurm = (extra: SlurmExecutorOptions = {}): SlurmExecutor =>
  new SlurmExecutor({ command: SCRIPTED_JOB, pollMs: 200, exitFileWaitMs: 5000, ...extra });
export const quietProgress = { sweepStarted() {}, runEvent() {}, runRetrying() {}, runWaiting() {}, runEnded() {}, runStarted() {}, close() {} };

/** A launch request for one plan on one Slurm slot, its events collected into `events`. */
export function launchRequest(plan: RunPlan, events: TrainEvent[], extra: Partial<SlurmLaunchRequest> = {}): SlurmLaunchRequest {
  return {
    runId: plan.id,
    config: plan.config,
    slot: slurmSlots(1)[0]!,
    timeoutMs: null,
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e),
    onJob: () => {},
    ...extra,
  };
}
