// AdamW updating a parameter and its moments in place on the wasm heap (native op 13), for
// AdamW.step on the OpenBLAS path. The fused kernel (fused-kernels.ts) writes three fresh tensors
// per parameter and the optimizer assigns them: three allocations, three assigns and a tidy per
// parameter (88 parameters a step on the cpu gpt2-large InRank model), and writes to memory it
// has to fetch first. In place is only safe where the optimizer alone holds that memory, so each
// call checks that the parameter's and both moments' data have no other tensor (reference count
// 1, all distinct); otherwise it declines and the caller takes the fused kernel, whose fresh
// outputs then belong to the optimizer alone, so the next step runs in place.
import * as tf from '@tensorflow/tfjs-core';
import { FusedKernel, hasFused } from '../ops/fused.ts';
import { loadedAddon } from './native-addon.ts';
import { floatOffset, heapBuffer, type WasmHeapBackend } from './blas.ts';
import { addonHasOp } from './fused-kernels.ts';
import type { AdamWScalars } from './adamw-scalars.ts';

const OP_ADAMW_IN_PLACE = 13;

interface RefCounting extends WasmHeapBackend {
  refCount(dataId: object): number;
}

/** Whether the loaded addon knows the op (one built before it does not); asked once. */
let supported: boolean | null = null;

function opSupported(): boolean {
  supported ??= addonHasOp(loadedAddon(), OP_ADAMW_IN_PLACE, 4, 9);
  return supported;
}

/** The backend when in-place updates can run at all: wasm with the native fused kernels registered. */
function heapBackend(): RefCounting | null {
  if (tf.getBackend() !== 'wasm' || !hasFused(FusedKernel.adamW)) return null;
  const backend = tf.backend() as unknown as RefCounting;
  return typeof backend.refCount === 'function' && opSupported() ? backend : null;
}

/** The float offset of t's data when only t holds it, else null. */
function ownedOffset(backend: RefCounting, t: tf.Tensor): number | null {
  if (t.dtype !== 'float32' || backend.refCount(t.dataId) !== 1) return null;
  return floatOffset(backend, t);
}

/** One AdamW update of param, m and v in place; false (nothing changed) when it cannot run in place. */
export function adamWInPlace(param: tf.Variable, grad: tf.Tensor, m: tf.Variable, v: tf.Variable, a: AdamWScalars): boolean {
  const backend = heapBackend();
  if (backend === null || grad.dtype !== 'float32') return false;
  const ids = new Set([param.dataId, m.dataId, v.dataId, grad.dataId]);
  if (ids.size !== 4 || !tf.util.arraysEqual(grad.shape, param.shape)) return false;
  const offsets = [ownedOffset(backend, param), floatOffset(backend, grad), ownedOffset(backend, m), ownedOffset(backend, v)];
  if (offsets.some((o) => o === null)) return false;
  loadedAddon().fused!(heapBuffer(backend), OP_ADAMW_IN_PLACE, Float64Array.from(offsets as number[]),
    Float64Array.of(param.size, a.lr, a.beta1, a.beta2, a.eps, a.decay, a.bc1, a.bc2Sqrt, a.gradMultiplier));
  return true;
}
