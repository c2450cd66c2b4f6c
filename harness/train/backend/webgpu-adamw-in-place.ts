// AdamW on the webgpu backend over many parameters per dispatch, in place: the parameter and its
// moments are written into their existing GPU buffers (webgpu-kernels/adamw-multi.ts's shader,
// recorded by webgpu-multi-dispatch.ts) instead of three fresh tensors per parameter (adamw.ts's
// 3-dispatch kernel) that the optimizer then assigns. A dispatch binds 4 storage buffers per
// tensor, so it takes floor(maxStorageBuffersPerShaderStage / 4) tensors (webgpu-limits.ts asks
// the adapter for its maximum: 16 on lavapipe gives 4; WebGPU's default of 8 gives 2).
//
// In place is only safe where the optimizer alone holds that memory, as on the CPU
// (adamw-in-place.ts): a tensor qualifies when its parameter, m and v each have reference count
// 1 and none of its four tensors appears anywhere else in the update (WebGPU also refuses a
// buffer bound writable twice in one dispatch). The others take the 3-dispatch kernel; its fresh
// outputs then belong to the optimizer alone, so the next step runs them in place.
import type * as tf from '@tensorflow/tfjs-core';
import type { AdamWScalars } from './adamw-scalars.ts';
import { multiAdamWSource, multiAdamWTable } from './webgpu-kernels/adamw-multi.ts';
import { dataIdCounts, dropCpuCopies, encodeMulti, tensorsPerDispatch, type MultiItem, type MultiShader } from './webgpu-multi-dispatch.ts';
import { float32Buffer, webgpuInternals, type TfjsWebgpuInternals } from './webgpu-tfjs-internals.ts';

/** One parameter's update: its tensors and decay factor (1 - lr wd, or 1). */
export interface AdamWItem { param: tf.Variable; grad: tf.Tensor; m: tf.Variable; v: tf.Variable; decay: number }

/** Dispatches and tensors updated since start-up (tests read it). */
export const multiAdamWStats = { dispatches: 0, tensors: 0 };

/** Tensors per AdamW dispatch on this backend (4 storage bindings each). */
export const adamWTensorsPerDispatch = (b: TfjsWebgpuInternals): number => tensorsPerDispatch(b, 4);

/** Whether the multi-tensor path is off by choice (INRANK_WEBGPU_IN_PLACE=0 keeps the 3-dispatch kernel). */
const disabled = () => process.env.INRANK_WEBGPU_IN_PLACE === '0';

/**
 * Updates every item it can in place, several per dispatch; returns the indexes it updated
 * (none when the backend is not webgpu). The caller updates the rest another way.
 */
export function webgpuAdamWInPlace(items: AdamWItem[], k: Omit<AdamWScalars, 'decay'>): Set<number> {
  const done = new Set<number>();
  const b = disabled() ? null : webgpuInternals();
  if (b === null) return done;
  const seen = dataIdCounts(items.flatMap((it) => [it.param, it.grad, it.m, it.v]));
  const bound: MultiItem[] = [];
  const decays: number[] = [];
  items.forEach((item, i) => {
    const m = bound1(b, item, seen);
    if (m === null) return;
    bound.push(m);
    decays.push(item.decay);
    done.add(i);
  });
  if (bound.length === 0) return done;
  const shader: MultiShader = {
    key: 'inrank_adamw_multi', perTensor: 4, source: multiAdamWSource,
    table: (sizes, idx) => multiAdamWTable(k, sizes.map((size, j) => ({ size, decay: decays[idx[j]!]! }))),
  };
  multiAdamWStats.dispatches += encodeMulti(b, shader, bound);
  multiAdamWStats.tensors += bound.length;
  for (const i of done) dropCpuCopies(b, [items[i]!.param, items[i]!.m, items[i]!.v]);
  return done;
}

/** The item's buffers (param, m, v, grad) when it can be written in place, else null. */
function bound1(b: TfjsWebgpuInternals, it: AdamWItem, seen: Map<object, number>): MultiItem | null {
  const tensors = [it.param, it.m, it.v, it.grad];
  if (it.param.size === 0 || tensors.some((t) => seen.get(t.dataId) !== 1 || t.size !== it.param.size)) return null;
  if ([it.param, it.m, it.v].some((t) => b.refCount(t.dataId) !== 1)) return null;
  const buffers = tensors.map((t) => float32Buffer(b, t));
  if (buffers.some((x) => x === null) || new Set(buffers).size !== 4) return null;
  return { buffers: buffers as NonNullable<(typeof buffers)[number]>[], size: it.param.size, dataIds: tensors.map((t) => t.dataId) };
}
