// A workgroup-tiled WebGPU program for tfjs-backend-webgpu: the body runs once per invocation of
// a 2-D workgroup (side x side threads) on a 3-D grid of workgroups that the kernel chooses, so
// the threads of one workgroup can share tiles in workgroup memory (the flat programs of
// program.ts give each invocation one output element and no sharing). The body sees
// `localId`, `workgroupId`, the inputs by name and `uniforms.<name>`, and writes the output
// itself (setOutputAtIndex).
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

/** WebGPU's default limit on workgroup memory; the kernels size their tiles to stay under it. */
export const WORKGROUP_STORAGE_BYTES = 16384;

/**
 * WGSL uniformI32(v, tid): thread tid 0's v, seen by the whole workgroup as a uniform value.
 * A loop with barriers inside needs uniform bounds, and WGSL counts anything read from the
 * backend's workgroupId (a private variable) as non-uniform.
 */
export const UNIFORM_I32_WGSL = `
  var<workgroup> uniformScratch : i32;
  fn uniformI32(v : i32, tid : i32) -> i32 {
    if (tid == 0) { uniformScratch = v; }
    let u = workgroupUniformLoad(&uniformScratch);
    workgroupBarrier(); // all have read it before thread 0 may write the next one
    return u;
  }`;

export interface TiledProgramSpec {
  /** Cache key of the compiled pipeline: must name every constant baked into the WGSL. */
  key: string;
  inputs: string[];
  outputShape: number[];
  /** Threads per workgroup side (side x side threads). */
  side: number;
  /** Workgroups along x, y, z (each at most 65535). */
  grid: [number, number, number];
  uniforms?: string;
  /** Module-scope declarations: workgroup arrays, constants, helper functions. */
  helpers: string;
  /** The body of main(). */
  body: string;
}

export function tiledProgram(spec: TiledProgramSpec): WebGPUProgram {
  if (spec.grid.some((g) => g > 65535 || g < 1)) throw new Error(`${spec.key}: workgroup grid [${spec.grid}] is outside WebGPU's 1..65535 per dimension`);
  return {
    variableNames: spec.inputs,
    outputShape: spec.outputShape,
    shaderKey: `inrank_${spec.key}`,
    uniforms: spec.uniforms,
    workgroupSize: [spec.side, spec.side, 1],
    // A y entry makes the backend call main() with no flat index (the body indexes by workgroup).
    dispatchLayout: { x: [spec.outputShape.length - 1], y: spec.outputShape.slice(0, -1).map((_, i) => i) },
    dispatch: spec.grid,
    getUserCode: () => `
      ${spec.helpers}
      fn main() {
        ${spec.body}
      }`,
  };
}
