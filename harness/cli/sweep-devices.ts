// The sweep's view of this machine's devices: GPUs from nvidia-smi, the WebGPU adapter Dawn
// finds (a child-process probe), whether a GPU backend exists (tfjs-node-gpu with CUDA, or
// WebGPU on a hardware adapter), and the lines that name them at the top of a sweep.
import { backendNames, type BackendName } from '../contract/config.ts';
import { UserError } from '../contract/errors.ts';
import { detectDeviceEnv, gpuBackendAvailable, type DeviceEnv } from '../schedule/devices.ts';
import { deviceSelectLayerPresent, pinningEnv } from '../schedule/gpu-pinning.ts';
import { mayHaveGpu, probeWebgpu, type WebgpuProbe } from '../schedule/webgpu-probe.ts';

export interface MachineDevices {
  env: DeviceEnv;
  /** Null when not probed (no GPU could be there and webgpu was not asked for). */
  webgpu: WebgpuProbe | null;
  /** A backend that trains on a GPU can start here. */
  gpuBackend: boolean;
}

/** --backend for sweep and bench: a known name (the children get it as INRANK_BACKEND). */
export function backendOption(value: string | undefined): BackendName | null {
  if (value === undefined) return null;
  if (!(backendNames as readonly string[]).includes(value)) throw new UserError(`--backend ${value}: expected one of ${backendNames.join(', ')}`);
  return value as BackendName;
}

/** probeAlways: ask Dawn even where no GPU could be (--devices list shows a software adapter too). */
export async function detectMachine(backend: BackendName | null, probeAlways = false): Promise<MachineDevices> {
  const env = detectDeviceEnv();
  const wantsWebgpu = probeAlways || backend === 'webgpu' || ((backend === null || backend === 'auto') && mayHaveGpu(env.gpus.length));
  const webgpu = wantsWebgpu ? await probeWebgpu() : null;
  // A forced backend that cannot start is one line before anything is stored, not a failed run per cell.
  if (backend === 'webgpu' && webgpu && !webgpu.ok) throw new UserError(`--backend webgpu cannot start here: ${webgpu.reason}; see README "On a GPU" or drop --backend`);
  const cuda = (backend === null || backend === 'auto' || backend === 'tensorflow-gpu') && gpuBackendAvailable(env);
  const hardwareWebgpu = webgpu?.ok === true && !webgpu.adapter.software && backend !== 'wasm' && backend !== 'cpu';
  return { env, webgpu, gpuBackend: cuda || hardwareWebgpu };
}

function describeAdapter(p: WebgpuProbe | null): string {
  if (!p) return 'WebGPU: not probed (no GPU here)';
  if (!p.ok) return `WebGPU: ${p.reason}`;
  const a = p.adapter;
  return `WebGPU adapter: ${a.vendor} ${a.device || a.architecture} [${a.description}]${a.software ? ' (software driver: used only with --backend webgpu)' : ''}${a.shaderF16 ? ', shader-f16' : ''}`;
}

/** The lines a sweep starts with: the GPUs found, the WebGPU adapter, and whether children can be pinned. */
export function deviceLines(m: MachineDevices): string[] {
  const gpus = m.env.gpus;
  const lines = [
    gpus.length
      ? `GPUs (nvidia-smi): ${gpus.map((g) => `${g.index} ${g.name}${g.pciBusId ? ` (pci ${g.pciBusId})` : ''}`).join('; ')}`
      : `GPUs: none found by nvidia-smi; ${m.env.cores} CPU cores`,
    describeAdapter(m.webgpu),
  ];
  if (gpus.length > 1 && m.webgpu?.ok && !deviceSelectLayerPresent()) {
    lines.push('warning: Mesa\'s Vulkan device-select layer is not installed, so every WebGPU run takes the first GPU; install mesa-vulkan-drivers (README "On a GPU") or use --devices 1');
  }
  return lines;
}

/** npm run sweep -- --devices list: every GPU with the adapter a child pinned to it would get. */
export async function listDevices(m: MachineDevices): Promise<string[]> {
  const out = deviceLines(m);
  for (const g of m.env.gpus) {
    const pin = pinningEnv(g.pciBusId);
    const probe = Object.keys(pin).length ? await probeWebgpu(pin) : null;
    const env = Object.entries({ CUDA_VISIBLE_DEVICES: String(g.index), ...pin }).map(([k, v]) => `${k}=${v}`).join(' ');
    out.push(`  cuda:${g.index}  ${env}  -> ${probe ? describeAdapter(probe) : 'no PCI address: not pinned for WebGPU'}`);
  }
  out.push(`device-select layer: ${deviceSelectLayerPresent() ? 'installed' : 'not installed'}; GPU backend: ${m.gpuBackend ? 'yes' : 'no'}`);
  return out;
}
