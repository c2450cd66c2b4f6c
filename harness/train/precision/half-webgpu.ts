// fp16 emulation on the WebGPU device: the same IEEE binary16 rounding as half.ts's
// roundHalfArray (round to nearest even, >= 65520 to Inf, subnormals on the 2^-24 grid), done
// bit for bit in one WGSL kernel so the tensor never leaves the GPU. The host path reads every
// half tensor back (dataSync), which tfjs-backend-webgpu cannot do in Node and which would
// drain the GPU queue on every matmul.
//
// This is emulation (float32 storage, rounded values). Real f16 storage on a shader-f16 device
// is half-storage.ts; the native path still uses this kernel where it keeps float32 tensors.
import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-webgpu's program interface this kernel fills in. */
interface Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}
interface WebgpuUtil {
  flatDispatchLayout(shape: number[]): { x: number[] };
  computeDispatch(layout: { x: number[] }, shape: number[], workgroup: [number, number, number]): [number, number, number];
}
interface WebgpuBackendLike {
  runWebGPUProgram(program: Program, inputs: tf.TensorInfo[], dtype: 'float32'): tf.TensorInfo;
}

// u32 arithmetic of roundHalfArray: keep 10 of float32's 23 significand bits with ties to even.
const WGSL = `
  fn roundHalf(x : f32) -> f32 {
    let bits = bitcast<u32>(x);
    let sign = bits & 0x80000000u;
    let absBits = bits & 0x7fffffffu;
    if (absBits >= 0x7f800000u) { return x; }
    if (absBits >= 0x477ff000u) { return bitcast<f32>(sign | 0x7f800000u); }
    if (absBits >= 0x38800000u) {
      let lsb = (absBits >> 13u) & 1u;
      return bitcast<f32>(sign | ((absBits + 0x0fffu + lsb) & ~0x1fffu));
    }
    // Subnormal half: adding 0.5 puts |x| where float32's spacing is 2^-24; the hardware's
    // round-to-nearest-even then lands on the half grid, and subtracting 0.5 is exact.
    let a = bitcast<f32>(absBits);
    let r = (a + 0.5) - 0.5;
    return bitcast<f32>(sign | bitcast<u32>(r));
  }
  fn main(index : i32) {
    if (index < uniforms.size) {
      setOutputAtIndex(index, roundHalf(getAByOutputIndex(index)));
    }
  }
`;

let util: WebgpuUtil | null = null;

/** Loads tfjs-backend-webgpu's dispatch helpers once (the backend is started by then). */
export async function prepareHalfKernel(): Promise<void> {
  const mod = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as { webgpu_util: WebgpuUtil };
  util = mod.webgpu_util;
}

function program(shape: number[]): Program {
  const u = util!;
  const layout = u.flatDispatchLayout(shape);
  const workgroupSize: [number, number, number] = [128, 1, 1];
  return {
    variableNames: ['A'],
    outputShape: shape,
    shaderKey: 'inrank_round_half',
    dispatchLayout: layout,
    dispatch: u.computeDispatch(layout, shape, workgroupSize),
    workgroupSize,
    size: true,
    getUserCode: () => WGSL,
  };
}

/** x rounded to half precision on the device (a new float32 tensor of the same shape). */
export function roundHalfOnDevice<T extends tf.Tensor>(x: T): T {
  if (!util) throw new Error('roundHalfOnDevice: call prepareHalfKernel() after the webgpu backend started');
  if (x.dtype !== 'float32') throw new Error(`roundHalfOnDevice: float32 expected, got ${x.dtype}`);
  if (x.size === 0) return x.clone();
  const backend = tf.backend() as unknown as WebgpuBackendLike;
  const info = backend.runWebGPUProgram(program(x.shape.slice()), [x], 'float32');
  return tf.engine().makeTensorFromTensorInfo(info) as T;
}
