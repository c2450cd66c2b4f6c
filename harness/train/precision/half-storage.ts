// fp16 'native': the half tensors of the linear layers and of attention kept as IEEE halves on
// the device (two a 32-bit word, backend/webgpu-kernels/half-pack.ts), on an adapter with
// shader-f16; the linear layers multiply them with the f16 matmul (half-matmul.ts), attention
// runs the fp16 flash kernels on them (ops/flash-half-attention.ts). The rounding points are the
// emulation's (fp16EmulatedOnDevice): the same values reach the same products, so the two paths
// differ only by summation order, while an activation saved for backward takes 2 bytes an
// element, not 4, and attention saves no T x T tensor at all.
//
// What is stored in half: the linear layers' inputs, weights (a half copy of the float32 master
// weight per forward), the activations they save for backward, the low-rank layer's hidden
// product, and the incoming gradients of their backward; attention's qkv (what its backward
// keeps, with each query row's softmax max and sum in float32). The linear layers' outputs, the
// gradients they return, attention's output and qkv gradient and the parameter gradients are
// float32 tensors holding half values (the next op is a float32 one: GELU, LayerNorm, the
// residual add, the AdamW accumulation). LayerNorm and the loss stay on the emulation (float32
// storage rounded to half).
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../contract/errors.ts';
import type { Precision } from '../model/linear.ts';
import { enableF16Shaders } from '../backend/webgpu-f16.ts';
import { halfMatMul } from '../backend/webgpu-kernels/half-matmul.ts';
import { packHalf, unpackHalf } from '../backend/webgpu-kernels/half-pack.ts';
import type { WebgpuBackendLike } from '../backend/webgpu-kernels/program.ts';
import { roundHalfOnDevice } from './half-webgpu.ts';

/** A [rows, cols] matrix of halves: `words` is int32 [rows, ceil(cols / 2)]. */
export interface HalfMatrix {
  readonly words: tf.Tensor2D;
  readonly shape: [number, number];
}

export interface HalfMatMulOptions {
  transA?: boolean;
  transB?: boolean;
  /** float32 [N], added before the one rounding (as the fused matMul's bias is). */
  bias?: tf.Tensor1D;
}

/** The operations of the native path (Precision.halfOps). */
export interface HalfOps {
  pack(x: tf.Tensor2D): HalfMatrix;
  unpack(h: HalfMatrix): tf.Tensor2D;
  /** op(a) op(b) (+ bias) rounded to half, as a float32 tensor. */
  matMul(a: HalfMatrix, b: HalfMatrix, o?: HalfMatMulOptions): tf.Tensor2D;
  /** The same product kept packed. */
  matMulHalf(a: HalfMatrix, b: HalfMatrix, o?: HalfMatMulOptions): HalfMatrix;
}

const backend = () => tf.backend() as unknown as WebgpuBackendLike & { device: Parameters<typeof enableF16Shaders>[0] };
const tensor = <T extends tf.Tensor>(info: tf.TensorInfo): T => tf.engine().makeTensorFromTensorInfo(info) as T;

function product(a: HalfMatrix, b: HalfMatrix, o: HalfMatMulOptions, packedOut: boolean): tf.TensorInfo {
  const spec = { transA: o.transA ?? false, transB: o.transB ?? false, bias: o.bias !== undefined, packedOut };
  return halfMatMul(backend(), a.words, a.shape, b.words, b.shape, spec, o.bias);
}

export const halfOps: HalfOps = {
  pack: (x) => ({ words: tensor(packHalf(backend(), x)), shape: [x.shape[0], x.shape[1]] }),
  unpack: (h) => tensor(unpackHalf(backend(), h.words, h.shape[1])),
  matMul: (a, b, o = {}) => tensor(product(a, b, o, false)),
  matMulHalf(a, b, o = {}) {
    const words = tensor<tf.Tensor2D>(product(a, b, o, true));
    return { words, shape: [o.transA ? a.shape[1] : a.shape[0], o.transB ? b.shape[0] : b.shape[1]] };
  },
};

/** fp16 with half storage on the device: halfOps for the linear layers, on-device rounding elsewhere. */
export const fp16NativeOnDevice: Precision = { half: roundHalfOnDevice, halfOps };

let ready = false;

/**
 * Called once the webgpu backend runs: the native path is on when the device has shader-f16
 * (webgpu.ts asks for it where the adapter offers it), the WGSL kernels are on
 * (INRANK_FUSED_KERNELS is not 0) and INRANK_FP16_PATH is not 'emulated' (its other value:
 * 'auto', the default). Says why not, or null.
 */
export function prepareNativeHalf(): string | null {
  ready = false;
  const forced = process.env.INRANK_FP16_PATH ?? 'auto';
  if (forced !== 'auto' && forced !== 'emulated') throw new UserError(`INRANK_FP16_PATH must be auto or emulated, not '${forced}'`);
  if (process.env.INRANK_FUSED_KERNELS === '0') return 'fp16 emulated: WGSL kernels off (INRANK_FUSED_KERNELS=0)';
  if (forced === 'emulated') return 'fp16 emulated: INRANK_FP16_PATH=emulated';
  if (!enableF16Shaders(backend().device)) return 'fp16 emulated: the device has no shader-f16';
  ready = true;
  return null;
}

/** Whether fp16 runs use halfOps on this process's webgpu device. */
export function nativeHalfReady(): boolean {
  return ready && tf.getBackend() === 'webgpu';
}
