// The kernel tests' webgpu start and stop: Dawn's bare device under tfjs-backend-webgpu (no
// start-up wrappers, so each test registers exactly the kernels it compares), the ops'
// formulation for a device backend (transpose flags, batched heads, no host reads).
import * as tf from '@tensorflow/tfjs-core';
import { setMatmulPath } from '../harness/train/backend/select.ts';
import { unregisterWebgpuKernels } from '../harness/train/backend/webgpu-kernels/index.ts';

/** Starts webgpu; returns null, or the first line of why it cannot (the tests skip with it). */
export async function startWebgpuForKernels(): Promise<string | null> {
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = create([]);
    (globalThis as unknown as { navigator: unknown }).navigator = { gpu };
    if ((await gpu.requestAdapter()) === null) throw new Error('Dawn found no WebGPU adapter');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not start');
    await tf.ready();
    setMatmulPath('tensorflow');
    return null;
  } catch (err) {
    return (err as Error).message.split('\n')[0]!;
  }
}

export function stopWebgpuForKernels(): void {
  unregisterWebgpuKernels();
  setMatmulPath('cpu');
}
