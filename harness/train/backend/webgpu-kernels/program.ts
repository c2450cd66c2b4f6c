// A flat WebGPU program for tfjs-backend-webgpu: one invocation per output element, the body a
// WGSL snippet that sees `index` (the flat output index), the inputs as raw f32 arrays by their
// variable names, and `uniforms.<name>` for the extra uniforms. The backend generates the
// bindings, the uniform struct (with `size`, the output's element count) and the entry point.
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';

const WORKGROUP: [number, number, number] = [64, 1, 1];
const MAX_GROUPS_PER_DIM = 65535;

/** Workgroups for `size` invocations; past the per-dimension limit the grid folds into 2-D (the backend's getGlobalIndex unfolds it). */
function flatDispatch(size: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(size / WORKGROUP[0]));
  if (groups <= MAX_GROUPS_PER_DIM) return [groups, 1, 1];
  const x = Math.ceil(Math.sqrt(groups));
  return [x, Math.ceil(groups / x), 1];
}

export interface FlatProgramSpec {
  /** Cache key of the compiled pipeline: one per distinct WGSL body. */
  key: string;
  /** Input names in binding order (WGSL identifiers, capitalised: X, DY, ...). */
  inputs: string[];
  outputShape: number[];
  /** Extra uniform fields, e.g. 'cols : i32, eps : f32,' (their values go to run()). */
  uniforms?: string;
  /** Helper functions placed before main. */
  helpers?: string;
  /** The body, run for index < uniforms.size; ends by calling setOutputAtIndex(index, value). */
  body: string;
}

export function flatProgram(spec: FlatProgramSpec): WebGPUProgram {
  const size = spec.outputShape.reduce((a, b) => a * b, 1);
  return {
    variableNames: spec.inputs,
    outputShape: spec.outputShape,
    shaderKey: `inrank_${spec.key}`,
    size: true,
    uniforms: spec.uniforms,
    workgroupSize: WORKGROUP,
    dispatchLayout: { x: spec.outputShape.map((_, i) => i) },
    dispatch: flatDispatch(size),
    getUserCode: () => `
      ${spec.helpers ?? ''}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${spec.body}
        }
      }`,
  };
}

/** The parts of tfjs-backend-webgpu's WebGPUBackend a kernel uses. */
export interface WebgpuBackendLike {
  runWebGPUProgram(program: WebGPUProgram, inputs: TensorInfo[], outputDtype: DataType,
    programDefinedUniform?: Array<{ type: string; data: number[] }>): TensorInfo;
}

export type Uniform = { type: 'int32' | 'uint32' | 'float32'; data: number[] };

/** Runs a program on float32 inputs (int32 where the input's index is in intInputs); its output is float32. */
export function run(backend: WebgpuBackendLike, program: WebGPUProgram, inputs: TensorInfo[], uniforms: Uniform[] = [],
  intInputs: number[] = []): TensorInfo {
  inputs.forEach((x, i) => {
    const want = intInputs.includes(i) ? 'int32' : 'float32';
    if (x.dtype !== want) throw new Error(`${program.shaderKey}: input ${i} must be ${want} (got ${x.dtype})`);
  });
  return backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
}
