// Slurm as a sweep sees it: its flags (--partition ...), one batch job per run, the options
// tried with sbatch --test-only before anything is stored, --detach, the results of jobs no
// harness followed, and Ctrl-C's question (cancel the jobs or leave them running).
import { UserError } from '../../contract/errors.ts';
import type { SlurmOptionsInput } from '../../contract/slurm-options.ts';
import type { RunPlan } from '../../spec/plan.ts';
import { storeHasRunningRuns } from '../../store/probe.ts';
import { openStore, type Store } from '../../store/store.ts';
import type { ExecutorPlugin, ExecutorSettings, SweepExecutor } from '../plugin.ts';
import { clusterAnswers } from './commands.ts';
import { collectSlurmRuns, submitDetached } from './detach.ts';
import { SlurmExecutor, slurmSlots } from './executor.ts';
import { askCancelOrLeave } from './interrupt.ts';
import { resourceArgs, SLURM_FLAGS, takeSlurmFlags } from './options.ts';

function openSlurm(settings: ExecutorSettings): SweepExecutor {
  if (settings.devices !== undefined) {
    throw new UserError('--devices picks this machine\'s devices; with --executor slurm the cluster places the runs (use --gpus-per-run, --max-parallel)');
  }
  if (settings.runsPerDevice !== undefined) {
    throw new UserError('--runs-per-device shares this machine\'s GPUs; with --executor slurm each run is one batch job (use --gpus-per-run)');
  }
  const flags = settings.flags as SlurmOptionsInput;
  const slurm = new SlurmExecutor({
    ...settings.block,
    ...flags,
    retries: settings.retries,
    detach: settings.detach,
    ...(settings.customTrainer ? { command: [flags.node ?? 'node', '--import', 'tsx', settings.trainer] } : {}),
  } as SlurmOptionsInput);
  const sbatchArgs = (): string => resourceArgs(slurm.options).join(' ') || 'the cluster\'s default partition and resources';
  return {
    executor: slurm,
    onThisMachine: false,
    slots: (planCount) => slurmSlots(settings.maxParallel ?? planCount),
    describe: (slots) => `executor: slurm, one batch job per run (${sbatchArgs()}); ${settings.detach ? 'detached' : `${slots.length} at a time`}`,
    dryRunLine: () => `executor: slurm (${sbatchArgs()}), one batch job per run`,
    check: () => slurm.checkOptions(),
    storedArgs: () => ({ slurm: slurm.options, detach: settings.detach }),
    collectUnattended: async (store) => (await collectSlurmRuns(store, slurm)).length,
    submitDetached: (store, plans, say) => detachAll(store, plans, slurm, say),
    beforeAbort: () => askCancelOrLeave(slurm),
  };
}

async function detachAll(store: Store, plans: RunPlan[], slurm: SlurmExecutor, say: (line: string) => void): Promise<number> {
  const report = await submitDetached(store, plans, slurm);
  for (const job of report.submitted) say(`submitted ${job.name}: slurm job ${job.jobId}${job.after ? ` (held until job ${job.after} succeeds)` : ''}`);
  for (const left of report.left) say(`not submitted ${left.name}: ${left.why}`);
  return report.submitted.length;
}

/**
 * Stores the results of Slurm jobs that ran while no harness followed them (`--detach`), so the
 * report shows them. Costs one query when the database holds no running Slurm run: no Slurm
 * command runs then, and none where no cluster answers.
 */
async function collectForReport(db: string, note: (line: string) => void): Promise<void> {
  if (!storeHasRunningRuns(db, 'slurm')) return;
  if (!(await clusterAnswers())) {
    note('note: some runs are Slurm jobs still marked running and no Slurm controller answers here; their latest results are not in this report');
    return;
  }
  const store = openStore(db);
  try {
    const finished = await collectSlurmRuns(store, new SlurmExecutor());
    if (finished.length) note(`stored the results of ${finished.length} slurm job(s) that ended since the last look`);
  } finally {
    store.close();
  }
}

export const slurmPlugin: ExecutorPlugin = {
  name: 'slurm',
  label: 'Slurm',
  detaches: true,
  takeFlags: (argv) => {
    const { input, rest } = takeSlurmFlags(argv);
    const keys = Object.keys(input);
    return { flags: input as Record<string, unknown>, given: Object.entries(SLURM_FLAGS).filter(([, key]) => keys.includes(key)).map(([flag]) => flag), rest };
  },
  open: openSlurm,
  collectForReport,
};
