// A one-workgroup-per-row WebGPU program for tfjs-backend-webgpu: workgroup `group` (one per row,
// or per block of columns) runs `width` invocations that stride over its row and combine their
// partial results with the tree reductions below, in workgroup memory. The flat programs of
// program.ts give each output one invocation that walks the whole row serially, which leaves a
// GPU mostly idle when the rows are long (a 50,257-wide vocabulary) or few. The body sees `tid`
// (0..W-1), `group` (the workgroup's index; it can exceed the row count where the grid folds),
// the inputs by name and `uniforms.<name>`, and writes the output itself (setOutputAtIndex).
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

const MAX_GROUPS_PER_DIM = 65535;

/** Invocations per row: 256 for long rows (the vocabulary), 64 for the model's width or the context. */
export function rowWidth(cols: number): number {
  return cols >= 2048 ? 256 : 64;
}

/** A grid of at least `groups` workgroups; past WebGPU's per-dimension limit it folds into 2-D. */
function groupGrid(groups: number): [number, number, number] {
  const n = Math.max(1, groups);
  if (n <= MAX_GROUPS_PER_DIM) return [n, 1, 1];
  const x = Math.ceil(Math.sqrt(n));
  return [x, Math.ceil(n / x), 1];
}

const STATS_WGSL = `
  // Softmax statistics (running max m, sum of exp(x - m)) of a stretch of a row, merged by
  // rescaling both sums to the larger max: one read of the row yields both (online softmax).
  // +inf or NaN in the row makes the sum NaN (exp(inf - inf)), as the generic softmax does.
  fn pushStat(a : vec2<f32>, x : f32) -> vec2<f32> {
    let m = max(a.x, x);
    return vec2<f32>(m, a.y * exp(a.x - m) + exp(x - m));
  }
  fn mergeStats(a : vec2<f32>, b : vec2<f32>) -> vec2<f32> {
    let m = max(a.x, b.x);
    return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
  }
  fn statsAcross(v : vec2<f32>, tid : i32) -> vec2<f32> {
    redA[tid] = v.x;
    redB[tid] = v.y;
    for (var s = W / 2; s > 0; s = s / 2) {
      workgroupBarrier();
      if (tid < s) {
        let merged = mergeStats(vec2<f32>(redA[tid], redB[tid]), vec2<f32>(redA[tid + s], redB[tid + s]));
        redA[tid] = merged.x;
        redB[tid] = merged.y;
      }
    }
    workgroupBarrier();
    let total = vec2<f32>(redA[0], redB[0]);
    workgroupBarrier();
    return total;
  }`;

/**
 * WGSL reductions across the workgroup: every invocation passes its partial value and gets the
 * workgroup's total. They hold barriers, so the body must call them from uniform control flow
 * (never inside `if (group < rows)`): a workgroup past the last row reduces zeros and writes
 * nothing. The final barrier lets the next reduction reuse the scratch array.
 */
function reduceWgsl(width: number): string {
  return `
  const W : i32 = ${width};
  // The lowest finite f32: the running max's start (WGSL has no infinity literal, and a -inf
  // start would turn exp(m - m) into NaN for a row that starts with -inf logits).
  const LOWEST : f32 = -3.4028234e38;
  var<workgroup> redA : array<f32, ${width}>;
  var<workgroup> redB : array<f32, ${width}>;
  fn sumAcross(v : f32, tid : i32) -> f32 {
    redA[tid] = v;
    for (var s = W / 2; s > 0; s = s / 2) {
      workgroupBarrier();
      if (tid < s) { redA[tid] = redA[tid] + redA[tid + s]; }
    }
    workgroupBarrier();
    let total = redA[0];
    workgroupBarrier();
    return total;
  }
  // NaN test on the bits: a compiler may fold x != x away.
  fn isNanF(x : f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
  ${STATS_WGSL}`;
}

export interface RowProgramSpec {
  /** Cache key of the compiled pipeline (the width is added to it). */
  key: string;
  inputs: string[];
  outputShape: number[];
  /** Workgroups needed: one per row (or per column block). */
  groups: number;
  /** Invocations per workgroup, a power of two (rowWidth). */
  width: number;
  uniforms?: string;
  helpers?: string;
  body: string;
}

export function rowProgram(spec: RowProgramSpec): WebGPUProgram {
  if (!Number.isInteger(Math.log2(spec.width))) throw new Error(`${spec.key}: workgroup width ${spec.width} is not a power of two`);
  return {
    variableNames: spec.inputs,
    outputShape: spec.outputShape,
    shaderKey: `inrank_${spec.key}_w${spec.width}`,
    uniforms: spec.uniforms,
    workgroupSize: [spec.width, 1, 1],
    // A flat layout: the backend calls main(index) for any output rank; the body ignores the index.
    dispatchLayout: { x: spec.outputShape.map((_, i) => i) },
    dispatch: groupGrid(spec.groups),
    getUserCode: () => `
      ${reduceWgsl(spec.width)}
      ${spec.helpers ?? ''}
      fn main(index : i32) {
        let tid = i32(localIndex);
        let group = i32(workgroupId.y * numWorkgroups.x + workgroupId.x);
        ${spec.body}
      }`,
  };
}
