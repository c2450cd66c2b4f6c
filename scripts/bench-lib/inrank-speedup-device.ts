// bench-inrank-speedup.ts on a device backend (webgpu: no synchronous read-back): the same
// interleaved comparison of a full-rank and a stage-2 InRank model with the trainer's device step
// (bench-lib/device-step.ts), plus each model's compute dispatches per step; --profile-steps
// profiles one step of each kernel by kernel (bench-lib/gpu-profile.ts).
import type { ModelConfig } from '../../harness/contract/config.ts';
import type { LinearFactory } from '../../harness/train/model/linear.ts';
import { makeDeviceStepper, timeDeviceSteps, type DeviceStepper } from './device-step.ts';
import { interleaveRepeats, type Interleaved } from './interleave.ts';
import { countDispatches, formatGpuProfile, profileGpuStep } from './gpu-profile.ts';

export interface DeviceComparison {
  full: { cfg: ModelConfig; linears: LinearFactory };
  inrank: { cfg: ModelConfig; linears: LinearFactory };
  batch: number;
  steps: number;
  repeats: number;
  profileSteps: boolean;
}

interface Timed { ms: number; dispatches: number }

/** The models' interleaved repeats after a warm-up step each (pipelines compile). */
async function interleavedOnDevice(full: DeviceStepper, inrank: DeviceStepper, o: DeviceComparison): Promise<Interleaved<Timed>> {
  const read = countDispatches();
  await full.step();
  await inrank.step();
  return interleaveRepeats(o.repeats, { full: () => timeDeviceSteps(full.step, o.steps, read), inrank: () => timeDeviceSteps(inrank.step, o.steps, read) }, (t) => t.ms);
}

export async function compareOnDevice(o: DeviceComparison): Promise<void> {
  const full = makeDeviceStepper(o.full.cfg, o.batch, o.full.linears);
  const inrank = makeDeviceStepper(o.inrank.cfg, o.batch, o.inrank.linears);
  try {
    console.log(`GELU: full rank ${full.model.activation}, InRank ${inrank.model.activation}`);
    const best = await interleavedOnDevice(full, inrank, o);
    const row = (name: string, s: DeviceStepper, t: Timed) =>
      console.log(`  ${name.padEnd(16)} ${t.ms.toFixed(1).padStart(8)} ms/step ${(s.tokens / (t.ms / 1000)).toFixed(0).padStart(8)} tokens/s  ${t.dispatches.toFixed(0)} dispatches/step  ${(s.model.flopsPerToken() / 1e6).toFixed(2)} MFLOP/token, ${s.model.paramCounts().total} params`);
    console.log(`best of ${o.repeats} repeats (${o.steps} steps each; the device step: one read-back, AdamW):`);
    row('full rank', full, best.full);
    row('InRank stage 2', inrank, best.inrank);
    const flopRatio = full.model.flopsPerToken() / inrank.model.flopsPerToken();
    const timeRatio = best.full.ms / best.inrank.ms;
    console.log(`step-time ratio (full / InRank) ${timeRatio.toFixed(3)}x, FLOP ratio ${flopRatio.toFixed(3)}x, step-time ratio / FLOP ratio ${(timeRatio / flopRatio).toFixed(3)} (target >= 0.9)`);
    if (!o.profileSteps) return;
    for (const [name, s] of [['full rank', full], ['InRank stage 2', inrank]] as const) {
      console.log(`${name}:`);
      for (const line of formatGpuProfile(await profileGpuStep(() => s.step()), 12)) console.log(`  ${line}`);
    }
  } finally {
    full.dispose();
    inrank.dispose();
  }
}
