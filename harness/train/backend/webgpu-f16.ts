// shader-f16 on tfjs-backend-webgpu's device, which 4.22 does not ask for by itself.
//
// Why these two narrow wrappers and not a backend of our own: tfjs creates the device in its
// backend factory with only 'timestamp-query' and 'bgra8unorm-storage' as required features,
// and its shader generator (makeShader) puts its own preamble before a program's code, so a
// program cannot begin with the `enable f16;` directive WGSL requires before any declaration.
// 1. withShaderF16 hands tfjs a navigator.gpu whose adapters add 'shader-f16' to the device's
//    required features when the adapter offers it (nothing else about the device changes).
// 2. enableF16Shaders makes the device's createShaderModule prepend `enable f16;` to exactly
//    the sources that carry F16_MARKER (the half-precision kernels); every other source is
//    passed through untouched, so tfjs's own kernels compile as before.
import { widenDeviceRequests, withAdapterHook } from './webgpu-adapter-hook.ts';

export const F16_MARKER = '// inrank:enable-f16';

interface AdapterLike {
  readonly features: ReadonlySet<string>;
  requestDevice(descriptor?: { requiredFeatures?: unknown[] }): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(options?: object): Promise<unknown>;
}

/** navigator.gpu for tfjs: the same GPU object whose adapters' devices get shader-f16 where offered. */
export function withShaderF16<G extends GpuLike>(gpu: G): G {
  return withAdapterHook(gpu, (adapter: AdapterLike) => {
    if (!adapter.features.has('shader-f16')) return;
    widenDeviceRequests(adapter, (d?: { requiredFeatures?: unknown[] }) => {
      const required = d?.requiredFeatures ?? [];
      return required.includes('shader-f16') ? null : { ...d, requiredFeatures: [...required, 'shader-f16'] };
    });
  });
}

interface DeviceLike {
  readonly features: ReadonlySet<string>;
  createShaderModule(d: { code: string; label?: string }): unknown;
}
const wrapped = new WeakSet<object>();

/** Whether `device` has shader-f16; if so, installs the marker rule on it once. */
export function enableF16Shaders(device: DeviceLike): boolean {
  if (!device.features.has('shader-f16')) return false;
  if (wrapped.has(device)) return true;
  const original = device.createShaderModule;
  device.createShaderModule = function (this: DeviceLike, d: { code: string; label?: string }) {
    return original.call(this, d.code.includes(F16_MARKER) ? { ...d, code: `enable f16;\n${d.code}` } : d);
  };
  wrapped.add(device);
  return true;
}
