// Recording multi-tensor dispatches of our own WGSL into tfjs-backend-webgpu's pending command
// encoder, in order with its kernels (the private members used: webgpu-tfjs-internals.ts). A
// multi-tensor shader binds a uniform table at binding 0, then `perTensor` storage buffers per
// tensor; WGSL cannot index bindings, so each tensor count has its own generated shader and
// pipeline (cached per device). Used by the in-place AdamW and gradient accumulation.
import * as tf from '@tensorflow/tfjs-core';
import type { GpuBufferLike, TfjsWebgpuInternals } from './webgpu-tfjs-internals.ts';

export interface MultiShader {
  /** Pipeline cache key and debug label. */
  key: string;
  /** Storage bindings per tensor. */
  perTensor: number;
  source(count: number): string;
  /** The uniform table of one dispatch (sizes and per-tensor scalars), 16-byte padded. */
  table(sizes: number[], group: number[]): ArrayBuffer;
}

/** A tensor's buffers in binding order, its element count, and the dataIds tfjs must keep until submit. */
export interface MultiItem { buffers: GpuBufferLike[]; size: number; dataIds: object[] }

type Pipeline = { getBindGroupLayout(i: number): unknown };
const pipelines = new WeakMap<object, Map<string, Pipeline>>();

function pipelineFor(b: TfjsWebgpuInternals, shader: MultiShader, count: number): Pipeline {
  let cache = pipelines.get(b.device);
  if (!cache) pipelines.set(b.device, (cache = new Map()));
  const key = `${shader.key}_${count}`;
  let p = cache.get(key);
  if (!p) {
    const module = b.device.createShaderModule({ code: shader.source(count), label: key });
    p = b.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
    cache.set(key, p);
  }
  return p;
}

/** Tensors per dispatch: the device's storage bindings per shader stage over those of one tensor. */
export function tensorsPerDispatch(b: { device: { limits: { maxStorageBuffersPerShaderStage: number } } }, perTensor: number): number {
  return Math.max(1, Math.floor(b.device.limits.maxStorageBuffersPerShaderStage / perTensor));
}

/** Invocations per workgroup of every multi-tensor shader. */
export const WORKGROUP = 64;

/** Records the items' dispatches (as many tensors each as fit) in one compute pass; returns the dispatch count. */
export function encodeMulti(b: TfjsWebgpuInternals, shader: MultiShader, items: MultiItem[]): number {
  const per = tensorsPerDispatch(b, shader.perTensor);
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder(); // tfjs's open pass ends: ours runs after every kernel queued so far
  const pass = b.commandEncoder!.beginComputePass({ label: shader.key });
  let dispatches = 0;
  for (let s = 0; s < items.length; s += per) {
    const group = items.slice(s, s + per);
    const pipeline = pipelineFor(b, shader, group.length);
    const words = Array.from(new Uint32Array(shader.table(group.map((g) => g.size), group.map((_, i) => s + i))));
    const entries: Array<{ binding: number; resource: unknown }> = [{ binding: 0, resource: b.makeUniforms(words.map((w) => ({ type: 'uint32', data: [w] }))) }];
    group.forEach((g, i) => g.buffers.forEach((buffer, j) => entries.push({ binding: 1 + shader.perTensor * i + j, resource: { buffer } })));
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, b.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    // sized by the largest tensor; the shader's loops stride past the per-dimension limit
    const largest = Math.max(...group.map((g) => g.size));
    pass.dispatchWorkgroups(Math.max(1, Math.min(Math.ceil(largest / WORKGROUP), b.device.limits.maxComputeWorkgroupsPerDimension)));
    for (const g of group) for (const id of g.dataIds) b.commandQueueOwnedIds.add(id);
    dispatches++;
    b.dispatchCountInPass++;
  }
  pass.end();
  if (b.dispatchCountInPass >= Number(tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'))) b.submitQueue();
  return dispatches;
}

/** Drops tfjs's CPU copies of tensors written in place (a later read would return the old numbers). */
export function dropCpuCopies(b: TfjsWebgpuInternals, ts: tf.Tensor[]): void {
  for (const t of ts) b.tensorMap.get(t.dataId)!.values = null;
}

/** How often each dataId occurs among the tensors (a buffer bound twice, once writable, is refused by WebGPU). */
export function dataIdCounts(ts: tf.Tensor[]): Map<object, number> {
  const seen = new Map<object, number>();
  for (const t of ts) seen.set(t.dataId, (seen.get(t.dataId) ?? 0) + 1);
  return seen;
}
