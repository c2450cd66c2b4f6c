// More storage buffers per shader on tfjs-backend-webgpu's device. tfjs 4.22 creates the device
// itself and raises only a few limits (workgroup storage, buffer sizes), so the device gets
// WebGPU's default of 8 storage buffers per shader stage even where the adapter allows more.
// The in-place multi-tensor AdamW (webgpu-adamw-in-place.ts) binds 4 per parameter, so this
// limit is its tensors per dispatch times 4: the adapter's maximum (16 on lavapipe) halves or
// better its dispatches. Only this limit changes; a driver that refuses it gets the device tfjs asked for.
import { widenDeviceRequests, withAdapterHook } from './webgpu-adapter-hook.ts';

interface AdapterLike {
  readonly limits: { readonly maxStorageBuffersPerShaderStage: number };
  requestDevice(descriptor?: { requiredLimits?: Record<string, number> }): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(options?: object): Promise<unknown>;
}

/** Wraps the adapter's requestDevice to ask for its maximum storage buffers per shader stage. */
function raiseStorageBuffers(adapter: AdapterLike): void {
  const most = adapter.limits.maxStorageBuffersPerShaderStage;
  widenDeviceRequests(adapter, (d?: { requiredLimits?: Record<string, number> }) =>
    (d?.requiredLimits?.maxStorageBuffersPerShaderStage ?? 0) >= most ? null : { ...d, requiredLimits: { ...d?.requiredLimits, maxStorageBuffersPerShaderStage: most } });
}

/** navigator.gpu for tfjs: the same GPU object whose adapters' devices get the adapter's storage-buffer maximum. */
export function withMaxStorageBuffers<G extends GpuLike>(gpu: G): G {
  return withAdapterHook(gpu, (adapter: AdapterLike) => {
    if (typeof adapter.limits?.maxStorageBuffersPerShaderStage === 'number') raiseStorageBuffers(adapter);
  });
}
