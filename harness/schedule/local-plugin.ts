// The local executor as a sweep sees it: one child process per device slot of this machine.
// Each GPU slot pins its child to its GPU: CUDA_VISIBLE_DEVICES for CUDA and the Vulkan
// driver's device selection for WebGPU (gpu-pinning.ts); --runs-per-device N shares a GPU.
import { planSlots } from './devices.ts';
import { LocalExecutor } from './local-executor.ts';
import type { ExecutorPlugin, ExecutorSettings, SweepExecutor } from './plugin.ts';

function openLocal(settings: ExecutorSettings): SweepExecutor {
  // Planned at once: a --devices the machine cannot give is reported before anything is expanded.
  const slots = planSlots(settings.devices, settings.deviceEnv, settings.runsPerDevice ?? 1);
  return {
    executor: new LocalExecutor({ trainer: settings.trainer }),
    onThisMachine: true,
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
