// The private members of tfjs-backend-webgpu 4.22's WebGPUBackend that the in-place multi-tensor
// AdamW (webgpu-adamw-in-place.ts) relies on, in one place. tfjs never writes into an existing
// tensor's buffer and offers no public way to encode our own commands in order with its own, so
// these are read here, checked here, and pinned by test/webgpu-adamw.test.ts, which fails loudly
// (naming the member) when an upgrade renames or drops one. Each member and why:
// - device: creates our pipelines and bind groups on tfjs's own GPUDevice (buffers are per device).
// - tensorMap.get(dataId): { resource, values, dtype }. resource is the tensor's GPUBuffer (the
//   memory written in place); values is tfjs's CPU copy, cached after a read-back, which must be
//   dropped after an in-place write or a later read would return the old numbers; dtype is the
//   buffer's element type (float32 only here).
// - uploadToGPU(dataId): a tensor whose data is still on the CPU gets its GPU buffer first.
// - ensureCommandEncoderReady() / endComputePassEncoder() / commandEncoder: our compute pass is
//   recorded into tfjs's pending command encoder after its open pass ends, so it runs after every
//   kernel queued before it (the gradients) and before every kernel queued after it.
// - commandQueueOwnedIds: dataIds bound by the pending encoder; tfjs delays releasing their
//   buffers until submit. Without it a gradient disposed right after the update would go back to
//   the pool and could be refilled (queue.writeBuffer runs at once) before our pass reads it.
// - makeUniforms(list): the uniform table in a pooled buffer released after submit, as tfjs's own.
// - dispatchCountInPass / submitQueue(): tfjs submits its encoder every
//   WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches; ours count toward that batch.
import * as tf from '@tensorflow/tfjs-core';

export interface GpuBufferLike { readonly size: number; readonly usage: number }
export interface GpuPassLike {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}
export interface GpuDeviceLike {
  readonly limits: { maxStorageBuffersPerShaderStage: number; maxComputeWorkgroupsPerDimension: number };
  createShaderModule(d: { code: string; label?: string }): unknown;
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string }; label?: string }): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: { layout: unknown; entries: Array<{ binding: number; resource: unknown }> }): unknown;
}
export interface TensorData { resource: unknown; values: unknown; dtype: string }

/** The members used, as 4.22 has them. */
export interface TfjsWebgpuInternals {
  device: GpuDeviceLike;
  tensorMap: { get(dataId: object): TensorData | undefined };
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  commandEncoder: { beginComputePass(d?: object): GpuPassLike } | null;
  commandQueueOwnedIds: WeakSet<object>;
  makeUniforms(list: Array<{ type: string; data: number[] }>): { offset: number; size: number; buffer: GpuBufferLike };
  dispatchCountInPass: number;
  submitQueue(): void;
  refCount(dataId: object): number;
}

const METHODS = ['uploadToGPU', 'ensureCommandEncoderReady', 'endComputePassEncoder', 'makeUniforms', 'submitQueue', 'refCount'] as const;

/** What the running webgpu backend lacks of TfjsWebgpuInternals (empty: all there). */
export function missingInternals(backend: object): string[] {
  const b = backend as Record<string, unknown>;
  const missing: string[] = METHODS.filter((m) => typeof b[m] !== 'function');
  const device = b.device as { createComputePipeline?: unknown; limits?: { maxStorageBuffersPerShaderStage?: unknown } } | undefined;
  if (typeof device?.createComputePipeline !== 'function' || typeof device.limits?.maxStorageBuffersPerShaderStage !== 'number') missing.push('device');
  if (typeof (b.tensorMap as { get?: unknown } | undefined)?.get !== 'function') missing.push('tensorMap');
  if (!(b.commandQueueOwnedIds instanceof WeakSet)) missing.push('commandQueueOwnedIds');
  if (typeof b.dispatchCountInPass !== 'number') missing.push('dispatchCountInPass');
  if (!('commandEncoder' in b)) missing.push('commandEncoder');
  return missing;
}

const checked = new WeakMap<object, boolean>();

/** The running backend as TfjsWebgpuInternals, or null when it is not webgpu or lacks a member. */
export function webgpuInternals(): TfjsWebgpuInternals | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const backend = tf.backend() as object;
  let ok = checked.get(backend);
  if (ok === undefined) {
    ok = missingInternals(backend).length === 0;
    checked.set(backend, ok);
  }
  return ok ? (backend as unknown as TfjsWebgpuInternals) : null;
}

/** The GPU buffer holding t's float32 data, uploading it first if it is still on the CPU; null when not a float32 buffer. */
export function float32Buffer(b: TfjsWebgpuInternals, t: tf.Tensor): GpuBufferLike | null {
  const data = b.tensorMap.get(t.dataId);
  if (!data || data.dtype !== 'float32' || t.dtype !== 'float32') return null;
  b.uploadToGPU(t.dataId);
  const resource = data.resource as { size?: unknown; usage?: unknown } | null;
  const isBuffer = resource !== null && typeof resource.size === 'number' && typeof resource.usage === 'number';
  return isBuffer ? (resource as GpuBufferLike) : null;
}
