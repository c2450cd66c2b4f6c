// The one-node test cluster for the Slurm tests: started with scripts/slurm-cluster.sh when
// sinfo does not answer. A machine where that cannot work fails the tests with the reason.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterAnswers } from '../harness/schedule/slurm-commands.ts';

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
