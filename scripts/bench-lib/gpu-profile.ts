// The per-kernel profile of one training step on the webgpu backend (`npm run bench -- --backend
// webgpu --profile`): each tfjs kernel's calls, compute dispatches and time, and the step's
// dispatch total.
//
// Times: tf.profile asks the backend to time each kernel. tfjs-backend-webgpu 4.22 does so with
// GPU timestamp queries (a begin / end timestamp around each program's compute pass) when its
// device has 'timestamp-query'; its start-up requests the feature whenever the adapter offers it
// (Dawn offers it on NVIDIA and on lavapipe). Without it the backend reports 0 for every kernel,
// so the profile says so and gives counts only: the wall-clock of the whole step is all there is.
// Dispatches: counted at GPUComputePassEncoder.dispatchWorkgroups, and attributed to the kernel
// that issued them (a kernel that runs another kernel does not count the inner one's).
import * as tf from '@tensorflow/tfjs-core';

export interface KernelRow {
  name: string;
  calls: number;
  dispatches: number;
  ms: number;
}

export interface GpuStepProfile {
  /** 'timestamps': GPU timestamp queries; 'wall-clock': only the step's wall-clock (kernel times absent). */
  timing: 'timestamps' | 'wall-clock';
  wallMs: number;
  dispatches: number;
  kernels: KernelRow[];
}

/**
 * The row of dispatches no tfjs kernel issued: the multi-tensor AdamW and gradient accumulation
 * record their passes into tfjs's encoder themselves (backend/webgpu-multi-dispatch.ts), so the
 * profiler neither sees nor times them.
 */
export const OUTSIDE_TFJS = '(multi-tensor passes, untimed)';

type DispatchProto = Record<string, (...a: unknown[]) => unknown>;
let dispatchCount = 0;
let hooked = false;

/** Counts every compute dispatch Dawn receives (idempotent); returns the running count's reader. */
export function countDispatches(): () => number {
  const ctor = (globalThis as unknown as { GPUComputePassEncoder?: { prototype: DispatchProto } }).GPUComputePassEncoder;
  if (!ctor) return () => NaN;
  if (!hooked) {
    hooked = true;
    for (const name of ['dispatchWorkgroups', 'dispatchWorkgroupsIndirect']) {
      const original = ctor.prototype[name];
      if (!original) continue;
      ctor.prototype[name] = function (this: unknown, ...a: unknown[]) {
        dispatchCount++;
        return original.apply(this, a);
      };
    }
  }
  return () => dispatchCount;
}

/** Whether the running webgpu backend times kernels with GPU timestamp queries. */
export function timestampsAvailable(): boolean {
  return tf.getBackend() === 'webgpu' && (tf.backend() as { supportTimestampQuery?: boolean }).supportTimestampQuery === true;
}

type ProfileInfo = Awaited<ReturnType<typeof tf.profile>>;

interface ProfilerLike {
  profileKernel(name: string, inputs: unknown, f: () => tf.Tensor[]): unknown;
}

/**
 * Runs `step` with the engine's profileKernel wrapped so that each kernel call's own dispatches
 * are recorded (exclusive of kernels it runs inside itself).
 */
async function withDispatchAttribution(step: () => Promise<unknown>, read: () => number): Promise<{ info: ProfileInfo; perCall: number[] }> {
  const profiler = (tf.engine() as unknown as { profiler: ProfilerLike }).profiler;
  const original = profiler.profileKernel;
  const perCall: number[] = []; // in completion order: the order tf.profile lists kernels (inner before outer)
  const inner: number[] = []; // dispatches of nested kernels, per open kernel
  profiler.profileKernel = function (this: ProfilerLike, name, inputs, f) {
    inner.push(0);
    const before = read();
    const result = original.call(this, name, inputs, f);
    const total = read() - before;
    perCall.push(total - inner.pop()!);
    if (inner.length > 0) inner[inner.length - 1]! += total;
    return result;
  };
  try {
    const info = await tf.profile(async () => {
      await step();
    });
    return { info, perCall };
  } finally {
    profiler.profileKernel = original;
  }
}

/** Profiles one step (run it once before: pipelines compile on the first). */
export async function profileGpuStep(step: () => Promise<unknown>): Promise<GpuStepProfile> {
  const read = countDispatches();
  const before = read();
  const t0 = performance.now();
  const { info, perCall } = await withDispatchAttribution(step, read);
  const wallMs = performance.now() - t0;
  const rows = new Map<string, KernelRow>();
  info.kernels.forEach((k, i) => {
    const row = rows.get(k.name) ?? { name: k.name, calls: 0, dispatches: 0, ms: 0 };
    row.calls++;
    row.dispatches += perCall[i] ?? 0;
    row.ms += Number(k.kernelTimeMs) || 0;
    rows.set(k.name, row);
  });
  // An op with a custom gradient appears as `<name>__op` around its kernel: no work of its own.
  const kernels = [...rows.values()].filter((r) => !(r.name.endsWith('__op') && r.dispatches === 0));
  const dispatches = read() - before;
  const outside = dispatches - kernels.reduce((s, k) => s + k.dispatches, 0);
  if (outside > 0) kernels.push({ name: OUTSIDE_TFJS, calls: outside, dispatches: outside, ms: 0 });
  return { timing: timestampsAvailable() ? 'timestamps' : 'wall-clock', wallMs, dispatches, kernels };
}

/** The profile as printed lines: the timing source, then the kernels by time (by dispatches without times). */
export function formatGpuProfile(p: GpuStepProfile, top = 15): string[] {
  const totalMs = p.kernels.reduce((s, k) => s + k.ms, 0);
  const calls = p.kernels.reduce((s, k) => s + k.calls, 0);
  const source = p.timing === 'timestamps'
    ? 'GPU timestamp queries (timestamp-query), per kernel'
    : 'wall-clock of the whole step only (the device has no timestamp-query: kernel times not measured)';
  const lines = [
    `profile of one step: ${p.dispatches} dispatches, ${calls} kernel calls, ${p.kernels.length} kernels; step wall-clock ${p.wallMs.toFixed(0)} ms (profiling submits each kernel on its own)`,
    `  timing: ${source}${p.timing === 'timestamps' ? `; ${totalMs.toFixed(1)} ms in kernels` : ''}`,
    `  ${'kernel'.padEnd(28)} ${'calls'.padStart(6)} ${'dispatches'.padStart(10)} ${'ms'.padStart(10)} ${'share'.padStart(6)}`,
  ];
  const sorted = [...p.kernels].sort((a, b) => b.ms - a.ms || b.dispatches - a.dispatches);
  for (const k of sorted.slice(0, top)) {
    const ms = p.timing === 'timestamps' ? k.ms.toFixed(2) : '-';
    const share = p.timing === 'timestamps' && totalMs > 0 ? `${((100 * k.ms) / totalMs).toFixed(1)}%` : '-';
    lines.push(`  ${k.name.padEnd(28)} ${String(k.calls).padStart(6)} ${String(k.dispatches).padStart(10)} ${ms.padStart(10)} ${share.padStart(6)}`);
  }
  if (sorted.length > top) {
    const rest = sorted.slice(top);
    lines.push(`  ${`(${rest.length} more)`.padEnd(28)} ${String(rest.reduce((s, k) => s + k.calls, 0)).padStart(6)} ${String(rest.reduce((s, k) => s + k.dispatches, 0)).padStart(10)}`);
  }
  return lines;
}
