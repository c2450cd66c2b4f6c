// WGSL kernels for the webgpu backend, registered under the fused-kernel names the ops look for
// (harness/train/ops/fused.ts): an op takes the fused path exactly when its kernel is registered
// for the running backend, so this registration is the switch. The backend's start-up calls
// registerWebgpuKernels() after setBackend('webgpu'); INRANK_FUSED_KERNELS=0 keeps the generic
// kernels. Each kernel's test (test/webgpu-kernels.test.ts) compares it with the generic path.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { FlashHalfKernel, FlashKernel, FusedKernel, LmHeadKernel } from '../../ops/fused.ts';
import { geluBackward, geluExactBackward, geluExactForward, geluForward } from './gelu.ts';
import { layerNormBackward, layerNormForward } from './layernorm.ts';
import { adamWUpdate } from './adamw.ts';
import { softmaxXentBackward, softmaxXentForward } from './cross-entropy.ts';
import { dropoutMask } from './dropout.ts';
import { causalSoftmax, softmaxGrad } from './attention-softmax.ts';
import { lowRankBackward, lowRankForward } from './lowrank.ts';
import { headKernels } from './head-products.ts';
import { flashForward } from './flash-forward.ts';
import { flashBackward } from './flash-backward.ts';
import { flashHalfContext, flashHalfStats } from './flash-half-forward.ts';
import { flashHalfRowTerms } from './flash-half-rows.ts';
import { flashHalfBackward } from './flash-half-backward.ts';
import { sumSquares } from './sum-squares.ts';
import { lmHeadForward } from './lmhead-forward.ts';
import { lmHeadBackward } from './lmhead-backward.ts';
import type { WebgpuBackendLike } from './program.ts';

type Backend = WebgpuBackendLike & { disposeData(id: object): void; device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } };
interface Args {
  inputs: Record<string, TensorInfo | undefined>;
  backend: Backend;
  attrs?: NamedAttrMap;
}

const num = (attrs: NamedAttrMap | undefined, key: string): number => Number(attrs?.[key]);

const KERNELS: Record<string, (a: Args) => TensorInfo | TensorInfo[]> = {
  [FusedKernel.gelu]: ({ inputs, backend }) => geluForward(backend, inputs.x!),
  [FusedKernel.geluGrad]: ({ inputs, backend }) => geluBackward(backend, inputs.x!, inputs.dy!),
  [FusedKernel.geluExact]: ({ inputs, backend }) => geluExactForward(backend, inputs.x!),
  [FusedKernel.geluExactGrad]: ({ inputs, backend }) => geluExactBackward(backend, inputs.x!, inputs.dy!),
  [FusedKernel.layerNorm]: ({ inputs, backend, attrs }) =>
    layerNormForward(backend, inputs.x!, inputs.weight!, inputs.bias!, num(attrs, 'eps')),
  [FusedKernel.layerNormGrad]: ({ inputs, backend }) =>
    layerNormBackward(backend, inputs.dy!, inputs.x!, inputs.weight!, inputs.stats!),
  [FusedKernel.adamW]: ({ inputs, backend, attrs }) => adamWUpdate(backend, inputs.param!, inputs.grad!, inputs.m!, inputs.v!, {
    lr: num(attrs, 'lr'), beta1: num(attrs, 'beta1'), beta2: num(attrs, 'beta2'), eps: num(attrs, 'eps'),
    decay: num(attrs, 'decay'), bc1: num(attrs, 'bc1'), bc2Sqrt: num(attrs, 'bc2Sqrt'), gradMultiplier: num(attrs, 'gradMultiplier'),
  }),
  [FusedKernel.sumSquares]: ({ inputs, backend }) => sumSquares(backend, Object.values(inputs).filter((x): x is TensorInfo => x !== undefined)),
  [FusedKernel.softmaxXent]: ({ inputs, backend, attrs }) => softmaxXentForward(backend, inputs.logits!, inputs.targets!, num(attrs, 'floor')),
  [FusedKernel.softmaxXentGrad]: ({ inputs, backend, attrs }) => softmaxXentBackward(backend, inputs.p!, inputs.targets!, num(attrs, 'scale')),
  [FusedKernel.dropoutMask]: ({ backend, attrs }) => dropoutMask(backend, attrs?.shape as number[], num(attrs, 'key'), num(attrs, 'p')),
  [FusedKernel.causalSoftmax]: ({ inputs, backend }) => causalSoftmax(backend, inputs.x!),
  [FusedKernel.softmaxGrad]: ({ inputs, backend, attrs }) => softmaxGrad(backend, inputs.p!, inputs.dp!, num(attrs, 'scale')),
  [FusedKernel.lowRank]: ({ inputs, backend, attrs }) =>
    lowRankForward(backend, inputs.x!, inputs.a!, inputs.b!, inputs.bias!, num(attrs, 'k')),
  [FusedKernel.lowRankGrad]: ({ inputs, backend, attrs }) =>
    lowRankBackward(backend, inputs.dy!, inputs.x!, inputs.h!, inputs.a!, inputs.b!, num(attrs, 'k')),
  [FlashKernel.forward]: ({ inputs, backend, attrs }) => flashForward(backend, inputs.qkv!, attrs),
  [FlashKernel.backward]: ({ inputs, backend, attrs }) => flashBackward(backend, inputs.dy!, inputs.qkv!, inputs.out!, attrs),
  [FlashHalfKernel.stats]: ({ inputs, backend, attrs }) => flashHalfStats(backend, inputs.qkv!, attrs),
  [FlashHalfKernel.context]: ({ inputs, backend, attrs }) => flashHalfContext(backend, inputs.qkv!, inputs.stats!, attrs),
  [FlashHalfKernel.rowTerms]: ({ inputs, backend, attrs }) => flashHalfRowTerms(backend, inputs.dy!, inputs.qkv!, inputs.stats!, attrs),
  [FlashHalfKernel.backward]: ({ inputs, backend, attrs }) =>
    flashHalfBackward(backend, inputs.dy!, inputs.qkv!, inputs.stats!, inputs.d!, attrs),
  [LmHeadKernel.forward]: ({ inputs, backend, attrs }) => lmHeadForward(backend, inputs.x!, inputs.wte!, inputs.targets!, num(attrs, 'floor')),
  [LmHeadKernel.backward]: ({ inputs, backend, attrs }) =>
    lmHeadBackward(backend, inputs.x!, inputs.wte!, inputs.targets!, inputs.stats!, num(attrs, 'scale')),
  [LmHeadKernel.forwardHalf]: ({ inputs, backend, attrs }) =>
    lmHeadForward(backend, inputs.x!, inputs.wte!, inputs.targets!, num(attrs, 'floor'), num(attrs, 'embd')),
  [LmHeadKernel.backwardHalf]: ({ inputs, backend, attrs }) =>
    lmHeadBackward(backend, inputs.x!, inputs.wte!, inputs.targets!, inputs.stats!, num(attrs, 'scale'), num(attrs, 'embd')),
  // The attention's per-head products: with them ops/attention.ts takes its head-kernel path.
  ...Object.fromEntries(Object.entries(headKernels).map(([name, f]) => [name, ({ inputs, backend, attrs }: Args) => f(backend, inputs, attrs)])),
};

/** Registers the WGSL kernels for 'webgpu' (idempotent); says which, or why none. */
export function registerWebgpuKernels(): { enabled: boolean; reason: string } {
  if (process.env.INRANK_FUSED_KERNELS === '0') return { enabled: false, reason: 'fused kernels off (INRANK_FUSED_KERNELS=0)' };
  for (const [name, f] of Object.entries(KERNELS)) {
    if (tf.getKernel(name, 'webgpu') === undefined) {
      tf.registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc: f as unknown as KernelFunc });
    }
  }
  return { enabled: true, reason: `WGSL kernels: ${Object.keys(KERNELS).join(', ')}` };
}

/** Removes them again (tests compare with the generic path in one process). */
export function unregisterWebgpuKernels(): void {
  for (const name of Object.keys(KERNELS)) {
    if (tf.getKernel(name, 'webgpu') !== undefined) tf.unregisterKernel(name, 'webgpu');
  }
}
