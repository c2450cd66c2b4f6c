// Picks the tfjs backend: tensorflow-gpu -> webgpu (a hardware adapter only) -> tensorflow -> wasm
// -> cpu (auto), or the one forced.
// The native tfjs packages are optional dependencies; they are loaded with a dynamic import so a
// machine without them still runs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName } from '../../contract/config.ts';
import { UserError } from '../../contract/errors.ts';
import { startWebgpu, type AdapterInfo } from './webgpu.ts';
import { registerWebgpuKernels } from './webgpu-kernels/index.ts';
import { prepareHalfKernel } from '../precision/half-webgpu.ts';
import { prepareNativeHalf } from '../precision/half-storage.ts';
import { setTransposeStrategy } from '../inrank/matmul.ts';

export type MatmulPathName = 'wasm' | 'tensorflow' | 'cpu' | 'openblas' | 'webgpu';

let currentMatmulPath: MatmulPathName = 'cpu';

/** Which matrix-multiply path runs tf.matMul now; the ops choose their formulation by it. */
export function matmulPath(): MatmulPathName {
  return currentMatmulPath;
}

/** The hook a kernel provider (the OpenBLAS module) calls after registering its kernels. */
export function setMatmulPath(path: MatmulPathName): void {
  currentMatmulPath = path;
}

/**
 * True where matMul with transpose flags and batched matMul are slow (plain tfjs wasm / cpu):
 * the ops then use explicit transposes, plain 2-D products and per-head attention. False on
 * webgpu (and the native paths): the GPU takes transpose flags and batched (per-head) products
 * in one dispatch each, and a host-side split or gather would need a read-back.
 */
export function preferPlainMatmul(): boolean {
  return currentMatmulPath === 'wasm' || currentMatmulPath === 'cpu';
}

export interface SelectedBackend {
  backend: string;
  matmul: MatmulPathName;
  /** One line for the log: what was tried and why it was skipped. */
  note: string;
  /** The WebGPU adapter (webgpu only). */
  adapter: AdapterInfo | null;
}

type Candidate = Exclude<BackendName, 'auto'>;

async function importOptional(specifier: string): Promise<{ ok: true; mod: unknown } | { ok: false; reason: string }> {
  try {
    return { ok: true, mod: await import(specifier) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message.split('\n')[0] ?? String(err) };
  }
}

let startedAdapter: AdapterInfo | null = null;

async function tryBackend(name: Candidate, forced: boolean): Promise<string | null> {
  switch (name) {
    case 'webgpu': {
      const r = await startWebgpu(forced);
      if (!r.ok) return r.reason;
      startedAdapter = r.adapter;
      currentMatmulPath = 'webgpu';
      setTransposeStrategy('flags'); // the GPU's matMul takes transpose flags at full speed
      await prepareHalfKernel();
      nativeNote = registerWebgpuKernels().reason;
      const halfNote = prepareNativeHalf(); // fp16 'native' (f16 storage) or why it stays emulated
      if (halfNote) nativeNote += `; ${halfNote}`;
      return null;
    }
    case 'tensorflow-gpu': {
      const r = await importOptional('@tensorflow/tfjs-node-gpu');
      if (!r.ok) return `@tensorflow/tfjs-node-gpu not loadable (${r.reason})`;
      if (!(await tf.setBackend('tensorflow'))) return 'tfjs-node-gpu loaded but its backend did not start';
      // The GPU build falls back to the CPU silently when CUDA is absent; ask TensorFlow for a GPU.
      if (!gpuVisible()) return 'tfjs-node-gpu loaded but sees no GPU';
      currentMatmulPath = 'tensorflow';
      return null;
    }
    case 'tensorflow': {
      const r = await importOptional('@tensorflow/tfjs-node');
      if (!r.ok) return `@tensorflow/tfjs-node not loadable (${r.reason})`;
      if (!(await tf.setBackend('tensorflow'))) return 'tfjs-node loaded but its backend did not start';
      currentMatmulPath = 'tensorflow';
      return null;
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // The threaded build cannot start its worker in Node: one thread.
      try {
        wasm.setThreadsCount(1);
      } catch {
        // older builds have no thread control
      }
      if (!(await tf.setBackend('wasm'))) return 'the wasm backend did not start';
      currentMatmulPath = 'wasm';
      await tryNativeMatmul();
      return null;
    }
    case 'cpu': {
      await import('@tensorflow/tfjs-backend-cpu');
      if (!(await tf.setBackend('cpu'))) return 'the cpu backend did not start';
      currentMatmulPath = 'cpu';
      return null;
    }
  }
}

/** tfjs-node-gpu exposes no device query and runs on the CPU when CUDA finds no device. */
function gpuVisible(): boolean {
  const cuda = process.env.CUDA_VISIBLE_DEVICES;
  if (cuda !== undefined && (cuda.trim() === '' || cuda.trim() === '-1')) return false;
  return existsSync('/dev/nvidiactl') || existsSync('/proc/driver/nvidia/version');
}

/** Lets the OpenBLAS kernel module (when present) replace the wasm matMul kernels. */
async function tryNativeMatmul(): Promise<void> {
  const file = fileURLToPath(new URL('./blas.ts', import.meta.url));
  if (!existsSync(file)) return;
  try {
    const mod = (await import(new URL('./blas.ts', import.meta.url).href)) as {
      enableNativeMatmul?: () => { enabled: boolean; path: string; reason: string };
    };
    const status = mod.enableNativeMatmul?.();
    nativeNote = status?.reason ?? '';
    if (status?.enabled) currentMatmulPath = 'openblas';
  } catch (err) {
    nativeNote = `native matmul not used (${(err as Error).message.split('\n')[0]})`;
  }
}
let nativeNote = '';

const AUTO_ORDER: Candidate[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

/** Starts the requested backend (or the first that works); a forced backend that fails is a UserError. */
export async function selectBackend(name: BackendName): Promise<SelectedBackend> {
  const skipped: string[] = [];
  const order = name === 'auto' ? AUTO_ORDER : [name];
  for (const candidate of order) {
    const why = await tryBackend(candidate, name !== 'auto');
    if (why === null) {
      await tf.ready();
      const a = candidate === 'webgpu' ? startedAdapter : null;
      const adapterNote = a ? `adapter ${a.vendor} ${a.device} [${a.description}]${a.software ? ' (software driver)' : ''}` : '';
      const note = [adapterNote, ...skipped, nativeNote].filter(Boolean).join('; ');
      return { backend: candidate, matmul: currentMatmulPath, note, adapter: candidate === 'webgpu' ? startedAdapter : null };
    }
    if (name !== 'auto') {
      throw new UserError(`backend ${candidate} is not available here: ${why}; use --backend wasm or --backend cpu`);
    }
    skipped.push(why);
  }
  throw new Error(`no tfjs backend could start: ${skipped.join('; ')}`);
}
