// AdamW on the webgpu backend over many parameters per dispatch, in place: the parameter and its
// moments are written into their existing GPU buffers (webgpu-kernels/adamw-multi.ts's shader)
// instead of three fresh tensors per parameter (adamw.ts's 3-dispatch kernel) that the optimizer
// then assigns. A dispatch binds 4 storage buffers per tensor, so it takes
// floor(maxStorageBuffersPerShaderStage / 4) tensors (webgpu-limits.ts asks the adapter for its
// maximum; WebGPU's default of 8 gives 2).
//
// In place is only safe where the optimizer alone holds that memory, as on the CPU
// (adamw-in-place.ts): a tensor qualifies when its parameter, m and v each have reference count
// 1 and none of its four buffers appears anywhere else in the update (WebGPU also refuses a
// buffer bound writable twice in one dispatch). The others take the 3-dispatch kernel; its fresh
// outputs then belong to the optimizer alone, so the next step runs them in place.
import * as tf from '@tensorflow/tfjs-core';
import type { AdamWScalars } from './adamw-scalars.ts';
import { multiAdamWGroups, multiAdamWSource, multiAdamWTable } from './webgpu-kernels/adamw-multi.ts';
import { float32Buffer, webgpuInternals, type GpuBufferLike, type TfjsWebgpuInternals } from './webgpu-tfjs-internals.ts';

/** One parameter's update: its tensors and decay factor (1 - lr wd, or 1). */
export interface AdamWItem { param: tf.Variable; grad: tf.Tensor; m: tf.Variable; v: tf.Variable; decay: number }

interface Bound { item: AdamWItem; buffers: GpuBufferLike[] }

/** Dispatches since start-up (tests and the bench read it). */
export const multiAdamWStats = { dispatches: 0, tensors: 0 };

/** Whether the multi-tensor path is off by choice (INRANK_WEBGPU_MULTI_ADAMW=0 keeps the 3-dispatch kernel). */
const disabled = () => process.env.INRANK_WEBGPU_MULTI_ADAMW === '0';

/**
 * Updates every item it can in place, several per dispatch; returns the indexes it updated
 * (none when the backend is not webgpu). The caller updates the rest another way.
 */
export function webgpuAdamWInPlace(items: AdamWItem[], k: Omit<AdamWScalars, 'decay'>): Set<number> {
  const done = new Set<number>();
  const b = disabled() ? null : webgpuInternals();
  if (b === null) return done;
  const bound: Bound[] = [];
  const idx: number[] = [];
  const seen = dataIdCounts(items);
  items.forEach((item, i) => {
    const buffers = ownedBuffers(b, item, seen);
    if (buffers) {
      bound.push({ item, buffers });
      idx.push(i);
    }
  });
  if (bound.length === 0) return done;
  encode(b, bound, k);
  for (const { item } of bound) {
    for (const t of [item.param, item.m, item.v]) b.tensorMap.get(t.dataId)!.values = null; // the CPU copy is stale now
  }
  idx.forEach((i) => done.add(i));
  return done;
}

/** How often each dataId occurs in the whole update. */
function dataIdCounts(items: AdamWItem[]): Map<object, number> {
  const seen = new Map<object, number>();
  for (const it of items) for (const t of [it.param, it.grad, it.m, it.v]) seen.set(t.dataId, (seen.get(t.dataId) ?? 0) + 1);
  return seen;
}

/** The item's four buffers (param, m, v, grad) when it can be written in place, else null. */
function ownedBuffers(b: TfjsWebgpuInternals, it: AdamWItem, seen: Map<object, number>): GpuBufferLike[] | null {
  const tensors = [it.param, it.m, it.v, it.grad];
  if (it.param.size === 0 || tensors.some((t) => seen.get(t.dataId) !== 1 || t.size !== it.param.size)) return null;
  if ([it.param, it.m, it.v].some((t) => b.refCount(t.dataId) !== 1)) return null;
  const buffers = tensors.map((t) => float32Buffer(b, t));
  if (buffers.some((x) => x === null) || new Set(buffers).size !== 4) return null;
  return buffers as GpuBufferLike[];
}

const pipelines = new WeakMap<object, Map<number, { getBindGroupLayout(i: number): unknown }>>();

function pipelineFor(b: TfjsWebgpuInternals, count: number): { getBindGroupLayout(i: number): unknown } {
  let byCount = pipelines.get(b.device);
  if (!byCount) pipelines.set(b.device, (byCount = new Map()));
  let p = byCount.get(count);
  if (!p) {
    const module = b.device.createShaderModule({ code: multiAdamWSource(count), label: `inrank_adamw_multi_${count}` });
    p = b.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: `inrank_adamw_multi_${count}` });
    byCount.set(count, p);
  }
  return p;
}

/** Tensors per dispatch on this device: 4 storage bindings each. */
export function tensorsPerDispatch(b: { device: { limits: { maxStorageBuffersPerShaderStage: number } } }): number {
  return Math.max(1, Math.floor(b.device.limits.maxStorageBuffersPerShaderStage / 4));
}

/** Records the dispatches in one compute pass of tfjs's pending command encoder (see webgpu-tfjs-internals.ts). */
function encode(b: TfjsWebgpuInternals, bound: Bound[], k: Omit<AdamWScalars, 'decay'>): void {
  const per = tensorsPerDispatch(b);
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  const pass = b.commandEncoder!.beginComputePass({ label: 'inrank_adamw_multi' });
  for (let s = 0; s < bound.length; s += per) {
    const group = bound.slice(s, s + per);
    const pipeline = pipelineFor(b, group.length);
    const table = multiAdamWTable(k, group.map((g) => ({ size: g.item.param.size, decay: g.item.decay })));
    const words = Array.from(new Uint32Array(table));
    const uniform = b.makeUniforms(words.map((w) => ({ type: 'uint32', data: [w] })));
    const entries: Array<{ binding: number; resource: unknown }> = [{ binding: 0, resource: uniform }];
    group.forEach((g, i) => g.buffers.forEach((buffer, j) => entries.push({ binding: 1 + 4 * i + j, resource: { buffer } })));
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, b.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    const largest = Math.max(...group.map((g) => g.item.param.size));
    pass.dispatchWorkgroups(multiAdamWGroups(largest, b.device.limits.maxComputeWorkgroupsPerDimension));
    for (const g of group) for (const t of [g.item.param, g.item.m, g.item.v, g.item.grad]) b.commandQueueOwnedIds.add(t.dataId);
    multiAdamWStats.dispatches++;
    multiAdamWStats.tensors += group.length;
    b.dispatchCountInPass++;
  }
  pass.end();
  if (b.dispatchCountInPass >= Number(tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'))) b.submitQueue();
}
