// Dawn's WebGPU in Node (the optional npm package `webgpu`) under tfjs-backend-webgpu.
//
// Why a file of its own: the Dawn start-up (create the GPU object, assign Dawn's globals,
// find an adapter) is the one place that knows how Node gets a GPU without CUDA, and it
// must fail softly: a platform where `webgpu` does not load changes nothing else.
//
// Which GPU: Dawn on Linux asks Vulkan for its adapters and takes the first. A sweep pins a
// child to one GPU through the Vulkan driver's environment (harness/schedule/devices.ts:
// Mesa's device-select layer with DRI_PRIME=pci-...), not through a flag here, so that the
// child's own code is the same on every GPU. INRANK_WEBGPU_ADAPTER names a substring of the
// adapter's device name (Dawn's `adapter=` flag) for machines with unlike GPUs.
import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { AdapterDescription } from '../../contract/protocol.ts';
import { withShaderF16 } from './webgpu-f16.ts';
import { withMaxStorageBuffers } from './webgpu-limits.ts';

/** What the run records about the adapter it trained on: the start event's AdapterDescription. */
export type AdapterInfo = AdapterDescription;

export type WebgpuStart = { ok: true; adapter: AdapterInfo } | { ok: false; reason: string };

/** Features tfjs-backend-webgpu 4.22 requests when the adapter has them. */
const TFJS_FEATURES = ['timestamp-query', 'bgra8unorm-storage'] as const;

/** Dawn flags: ask for shader-f16 where the driver hides it (NVIDIA, DESIGN.md "GPU path"). */
function dawnFlags(): string[] {
  const flags = ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia', 'disable-dawn-features=disallow_unsafe_apis'];
  const name = process.env.INRANK_WEBGPU_ADAPTER;
  if (name) flags.push(`adapter=${name}`);
  return flags;
}

const firstLine = (err: unknown) => ((err as Error)?.message ?? String(err)).split('\n')[0] ?? String(err);

// The few parts of the WebGPU API this file reads, declared here so that the types do not
// depend on the optional package being installed.
interface GpuAdapterLike {
  readonly features: ReadonlySet<string>;
  readonly info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: object;
}

let gpuObject: GpuLike | null = null;

/** Loads Dawn once and returns navigator.gpu (null with a reason when `webgpu` is missing or fails). */
async function dawnGpu(): Promise<{ gpu: GpuLike } | { reason: string }> {
  if (gpuObject) return { gpu: gpuObject };
  let mod: DawnModule;
  try {
    mod = (await import('webgpu')) as unknown as DawnModule;
  } catch (err) {
    return { reason: `the optional package webgpu (Dawn) does not load here (${firstLine(err)})` };
  }
  try {
    Object.assign(globalThis, mod.globals);
    gpuObject = mod.create(dawnFlags());
  } catch (err) {
    return { reason: `Dawn did not start (${firstLine(err)})` };
  }
  // tfjs-backend-webgpu reads navigator.gpu; Node 20 has no navigator of its own. Its device
  // gets shader-f16 where the adapter offers it (webgpu-f16.ts: tfjs 4.22 does not ask), and the
  // adapter's most storage buffers per shader (webgpu-limits.ts: the multi-tensor AdamW's width).
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  const forTfjs = withShaderF16(withMaxStorageBuffers(gpuObject));
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: forTfjs, configurable: true });
  else g.navigator = { gpu: forTfjs };
  return { gpu: gpuObject };
}

/** The adapter Dawn would give a training (no device is created). */
export async function probeAdapter(): Promise<{ adapter: GpuAdapterLike; info: AdapterInfo } | { reason: string }> {
  const got = await dawnGpu();
  if ('reason' in got) return got;
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await got.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { reason: `Dawn found no adapter (${firstLine(err)})` };
  }
  if (!adapter) return { reason: 'Dawn found no WebGPU adapter (no Vulkan driver, or the driver refused: see scripts/gpu-check.sh)' };
  return { adapter, info: describeAdapter(adapter) };
}

function describeAdapter(adapter: GpuAdapterLike): AdapterInfo {
  const i = adapter.info;
  const fallback = i.isFallbackAdapter === true || adapter.isFallbackAdapter === true;
  const text = `${i.architecture} ${i.device} ${i.description}`.toLowerCase();
  const software = fallback || i.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/.test(text);
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    software,
    features: TFJS_FEATURES.filter((f) => adapter.features.has(f)),
    shaderF16: adapter.features.has('shader-f16'),
  };
}

/**
 * Whether a hardware GPU's device node exists (NVIDIA's, or a DRM render node for AMD / Intel).
 * Without one Dawn could only find a software driver, so `auto` does not load it at all.
 */
export function gpuDeviceNodesPresent(): boolean {
  if (existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((n) => n.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * Starts tfjs-backend-webgpu on Dawn's adapter. allowSoftware false (the `auto` chain) refuses
 * a CPU adapter: it is slower than wasm + OpenBLAS.
 */
export async function startWebgpu(allowSoftware: boolean): Promise<WebgpuStart> {
  if (!allowSoftware && !gpuDeviceNodesPresent()) return { ok: false, reason: 'webgpu: no GPU device here (/dev/nvidia*, /dev/dri/renderD*)' };
  const probe = await probeAdapter();
  if ('reason' in probe) return { ok: false, reason: probe.reason };
  const { info } = probe;
  if (info.software && !allowSoftware) {
    return { ok: false, reason: `webgpu: only a software adapter (${info.description || info.device}), slower than wasm; --backend webgpu forces it` };
  }
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (err) {
    return { ok: false, reason: `@tensorflow/tfjs-backend-webgpu does not load (${firstLine(err)})` };
  }
  try {
    if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: 'tfjs-backend-webgpu did not start on the adapter' };
  } catch (err) {
    return { ok: false, reason: `tfjs-backend-webgpu did not start (${firstLine(err)})` };
  }
  return { ok: true, adapter: info };
}
