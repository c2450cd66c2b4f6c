// The global gradient norm's sum of squares over every gradient in a few dispatches: the generic
// AdamW.globalNormSquared takes a Square and a Sum per parameter (2 dispatches each, about a
// fifth of a step's dispatches) and an addition tree. Here one dispatch takes up to 7 tensors
// (a shader may bind 8 storage buffers, the output included) and writes one partial sum per
// workgroup; the partials are summed the same way until one value is left. Accumulated in f32
// (WGSL has no f64), as the generic path on this backend.
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { run, type WebgpuBackendLike } from './program.ts';

const PER_DISPATCH = 7;
const THREADS = 256;
const MAX_GROUPS = 256;

type Backend = WebgpuBackendLike & { disposeData(id: object): void };

/** Sums (of squares when `square`) of the tensors' elements, one per workgroup: [groups] ([] when one). */
function partialSums(xs: TensorInfo[], square: boolean, groups: number): WebGPUProgram {
  const names = xs.map((_, i) => `T${i}`);
  const term = (v: string) => (square ? `${v} * ${v}` : v);
  const loops = names.map((n, i) => `
        for (var j = g; j < uniforms.n${i}; j += stride) { let v = ${n}[j]; acc += ${term('v')}; }`).join('');
  return {
    variableNames: names,
    outputShape: groups === 1 ? [] : [groups],
    shaderKey: `inrank_sum_sq_${xs.length}_${square}`,
    uniforms: names.map((_, i) => `n${i} : i32,`).join(' '),
    workgroupSize: [THREADS, 1, 1],
    dispatchLayout: { x: [0], y: [1] }, // not flat: main() reads its ids itself
    dispatch: [groups, 1, 1],
    getUserCode: () => `
      var<workgroup> part : array<f32, ${THREADS}>;
      fn main() {
        let g = i32(workgroupId.x) * ${THREADS} + i32(localId.x);
        let stride = i32(numWorkgroups.x) * ${THREADS};
        var acc = 0.0;${loops}
        part[localId.x] = acc;
        workgroupBarrier();
        for (var half = ${THREADS / 2}u; half > 0u; half = half / 2u) {
          if (localId.x < half) { part[localId.x] += part[localId.x + half]; }
          workgroupBarrier();
        }
        if (localId.x == 0u) { result[workgroupId.x] = part[0]; }
      }`,
  };
}

const sizeOf = (x: TensorInfo) => x.shape.reduce((a, b) => a * b, 1);

/** One level: each run of up to 7 tensors -> its partial sums. */
function level(backend: Backend, xs: TensorInfo[], square: boolean, groupsFor: (n: number) => number): TensorInfo[] {
  const out: TensorInfo[] = [];
  for (let i = 0; i < xs.length; i += PER_DISPATCH) {
    const chunk = xs.slice(i, i + PER_DISPATCH);
    const groups = groupsFor(chunk.reduce((s, x) => s + sizeOf(x), 0));
    out.push(run(backend, partialSums(chunk, square, groups), chunk, chunk.map((x) => ({ type: 'int32' as const, data: [sizeOf(x)] }))));
  }
  return out;
}

/** (t0, t1, ...) -> sum of the squares of all their elements, a scalar. */
export function sumSquares(backend: Backend, xs: TensorInfo[]): TensorInfo {
  // Enough workgroups that each invocation walks about 16 elements; the partials (at most 256
  // a run) then take one workgroup a run of 7, level after level.
  let sums = level(backend, xs, true, (n) => Math.min(MAX_GROUPS, Math.max(1, Math.ceil(n / (THREADS * 16)))));
  while (sums.length > 1 || sums[0]!.shape.length > 0) {
    const next = level(backend, sums, false, () => 1);
    for (const t of sums) backend.disposeData(t.dataId);
    sums = next;
  }
  return sums[0]!;
}
