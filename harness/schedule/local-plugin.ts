// The local executor as a sweep sees it: one child process per device slot of this machine.
import { planSlots } from './devices.ts';
import { LocalExecutor } from './local-executor.ts';
import type { ExecutorPlugin, ExecutorSettings, SweepExecutor } from './plugin.ts';

function openLocal(settings: ExecutorSettings): SweepExecutor {
  // Planned at once: a --devices the machine cannot give is reported before anything is expanded.
  const slots = planSlots(settings.devices, settings.deviceEnv);
  return {
    executor: new LocalExecutor({ trainer: settings.trainer }),
    slots: () => slots,
    describe: (runSlots) => {
      const parallel = Math.min(runSlots.length, settings.maxParallel ?? Infinity);
      const threads = runSlots[0]!.env.OMP_NUM_THREADS;
      return `devices: ${runSlots.map((s) => s.name).join(', ')} (${threads} BLAS thread${threads === '1' ? '' : 's'} each); ${parallel} at a time`;
    },
    dryRunLine: () => null,
    check: async () => {},
    storedArgs: () => ({}),
  };
}

export const localPlugin: ExecutorPlugin = {
  name: 'local',
  label: 'this machine',
  detaches: false,
  takeFlags: (argv) => ({ flags: {}, given: [], rest: [...argv] }),
  open: openLocal,
};
