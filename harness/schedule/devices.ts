// The slots a sweep schedules onto. GPUs (from nvidia-smi) give one slot each (or N with
// --runs-per-device N), the child sees only its own: through CUDA_VISIBLE_DEVICES for CUDA, and
// through the Vulkan driver's device selection for WebGPU (gpu-pinning.ts). Without GPUs, one slot per CPU core: the CPU
// backends run one thread per child, so parallel children fill the cores. BLAS / OpenMP
// thread counts are set so that slots x threads never exceeds the cores.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../contract/errors.ts';
import type { Slot } from './executor.ts';
import { REPO_ROOT } from './repo-root.ts';
import { pinningEnv } from './gpu-pinning.ts';

export interface GpuInfo {
  index: number;
  name: string;
  /** nvidia-smi's PCI bus id, e.g. 00000000:01:00.0 (pins WebGPU children to this GPU). */
  pciBusId?: string;
}

/** GPUs nvidia-smi reports; none when it is missing or fails. */
export function discoverGpus(): GpuInfo[] {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=index,pci.bus_id,name', '--format=csv,noheader'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const [index, bus, ...name] = l.split(',');
        return { index: Number(index), name: name.join(',').trim(), pciBusId: bus?.trim() };
      })
      .filter((g) => Number.isInteger(g.index));
  } catch {
    return [];
  }
}

export interface DeviceEnv {
  gpus: GpuInfo[];
  cores: number;
}

export function detectDeviceEnv(): DeviceEnv {
  return { gpus: discoverGpus(), cores: availableParallelism() };
}

/**
 * The slots for a `--devices` value (or none given):
 *   (none)      every GPU, else one slot per core
 *   N           the first N GPUs, else N CPU slots
 *   0,2         these GPU indices
 *   cpu | cpu:N CPU slots even where GPUs exist (one per core, or N)
 */
export function planSlots(devices: string | undefined, env: DeviceEnv, runsPerDevice = 1): Slot[] {
  const slots = planDeviceSlots(devices, env);
  if (runsPerDevice === 1) return slots;
  if (slots[0]?.kind !== 'gpu') throw new UserError(`--runs-per-device ${runsPerDevice} shares a GPU between runs; this sweep runs on CPU slots (use --devices cpu:N for more CPU runs)`);
  return shareGpus(slots, runsPerDevice, env.cores);
}

function planDeviceSlots(devices: string | undefined, env: DeviceEnv): Slot[] {
  const spec = devices?.trim();
  const cpu = (n: number): Slot[] => cpuSlots(n, env.cores);
  const gpuSlots = (indices: number[], cores: number) => gpuSlotsOf(indices.map((i) => env.gpus.find((g) => g.index === i)!), cores);
  if (!spec) return env.gpus.length ? gpuSlots(env.gpus.map((g) => g.index), env.cores) : cpu(env.cores);
  const cpuMatch = /^cpu(?::(\d+))?$/.exec(spec);
  if (cpuMatch) return cpu(cpuMatch[1] ? positive(cpuMatch[1], spec) : env.cores);
  if (/^\d+$/.test(spec)) {
    const n = positive(spec, spec);
    if (!env.gpus.length) return cpu(n);
    if (n > env.gpus.length) throw new UserError(`--devices ${n}: this machine has ${env.gpus.length} GPU(s); give at most ${env.gpus.length}, or cpu:${n}`);
    return gpuSlots(env.gpus.slice(0, n).map((g) => g.index), env.cores);
  }
  if (/^\d+(,\d+)+$/.test(spec) || /^\d+,?$/.test(spec)) {
    const wanted = spec.split(',').filter(Boolean).map(Number);
    const known = new Set(env.gpus.map((g) => g.index));
    const missing = wanted.filter((i) => !known.has(i));
    if (missing.length) {
      throw new UserError(`--devices ${spec}: no GPU ${missing.join(', ')} on this machine (nvidia-smi lists ${[...known].join(', ') || 'none'}); use a count or cpu:N`);
    }
    return gpuSlots([...new Set(wanted)], env.cores);
  }
  throw new UserError(`--devices '${spec}' is not understood; give a count (2), GPU indices (0,1), or cpu / cpu:N`);
}

function positive(text: string, spec: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--devices ${spec}: the count must be a whole number of at least 1`);
  return n;
}

function threadEnv(threads: number): Record<string, string> {
  const t = String(threads);
  return { OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t };
}

function cpuSlots(n: number, cores: number): Slot[] {
  const threads = Math.max(1, Math.floor(cores / n));
  // CUDA_VISIBLE_DEVICES empty: a CPU slot's child must not grab a GPU another slot owns.
  return Array.from({ length: n }, (_, i) => ({ name: `cpu${i}`, kind: 'cpu' as const, env: { ...threadEnv(threads), CUDA_VISIBLE_DEVICES: '' } }));
}

function gpuSlotsOf(gpus: GpuInfo[], cores: number): Slot[] {
  const threads = Math.max(1, Math.floor(cores / gpus.length));
  return gpus.map((g) => ({
    name: `cuda:${g.index}`,
    kind: 'gpu' as const,
    env: { ...threadEnv(threads), CUDA_VISIBLE_DEVICES: String(g.index), ...pinningEnv(g.pciBusId) },
  }));
}

/** n slots per GPU (small models leave a GPU mostly idle): cuda:0#1, cuda:0#2, ...; the cores shared by all. */
function shareGpus(slots: Slot[], n: number, cores: number): Slot[] {
  const threads = String(Math.max(1, Math.floor(cores / (slots.length * n))));
  return slots.flatMap((s) =>
    Array.from({ length: n }, (_, k) => ({
      ...s,
      name: `${s.name}#${k + 1}`,
      env: { ...s.env, OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads },
    })),
  );
}

/**
 * Whether a GPU tensor backend can run here: GPUs are visible and the optional
 * @tensorflow/tfjs-node-gpu package is installed (its install fails where libtensorflow
 * cannot be downloaded, leaving it out). Checked without loading it: loading costs seconds.
 */
export function gpuBackendAvailable(env: DeviceEnv): boolean {
  if (!env.gpus.length) return false;
  try {
    createRequire(join(REPO_ROOT, 'package.json')).resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
}
