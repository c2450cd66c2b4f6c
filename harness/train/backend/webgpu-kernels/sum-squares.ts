// The squared global norm of many tensors (the gradients, for clipping) in a few WGSL dispatches:
// the generic path takes a square, a sum and an add per tensor. Each dispatch reads as many
// tensors as the device binds storage buffers beside its output; each of its invocations
// strides over all of them and writes one partial sum. The partials are summed the same way
// (without squaring) until one number is left: for GPT-2's ~150 gradients on 16 bindings, 10 + 1 + 1.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, run, type WebgpuBackendLike } from './program.ts';

/** Partial sums per first-level dispatch: enough invocations to keep a GPU's memory busy. */
const FIRST_PARTIALS = 4096;
/** Partial sums per later dispatch while more than SMALL numbers are left. */
const LATER_PARTIALS = 64;
const SMALL = 256;

type Backend = WebgpuBackendLike & { disposeData(id: object): void; device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } };

const sizeOf = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

/** One dispatch: out[i] = sum over the inputs' elements j = i (mod out size) of x or x^2. */
function partialSums(backend: Backend, xs: TensorInfo[], outSize: number, square: boolean): TensorInfo {
  const names = xs.map((_, i) => `X${i}`);
  const loops = names.map((x, i) => `for (var j = index; j < uniforms.n${i}; j += uniforms.size) { let v = ${x}[j]; acc += ${square ? 'v * v' : 'v'}; }`);
  return run(backend, flatProgram({
    key: `sumsq_${square ? 'sq' : 'add'}_${xs.length}`, inputs: names, outputShape: [outSize],
    uniforms: names.map((_, i) => `n${i} : i32,`).join(' '),
    body: `var acc = 0.0;
      ${loops.join('\n      ')}
      setOutputAtIndex(index, acc);`,
  }), xs, xs.map((x) => ({ type: 'int32' as const, data: [sizeOf(x)] })));
}

/** The sum of squares of every element of `inputs`, as a float32 scalar. */
export function sumSquares(backend: Backend, inputs: TensorInfo[]): TensorInfo {
  const perDispatch = Math.max(1, (backend.device?.limits?.maxStorageBuffersPerShaderStage ?? 8) - 1);
  let level = inputs.filter((x) => sizeOf(x) > 0);
  if (level.length === 0) return { ...run(backend, flatProgram({ key: 'sumsq_zero', inputs: [], outputShape: [1], body: 'setOutputAtIndex(index, 0.0);' }), []), shape: [] };
  let square = true;
  let outSize = Math.min(FIRST_PARTIALS, level.reduce((s, x) => s + sizeOf(x), 0));
  for (;;) {
    const next: TensorInfo[] = [];
    for (let i = 0; i < level.length; i += perDispatch) next.push(partialSums(backend, level.slice(i, i + perDispatch), outSize, square));
    if (!square) for (const x of level) backend.disposeData(x.dataId); // partials of the level before
    level = next;
    square = false;
    if (level.length === 1 && outSize === 1) return { ...level[0]!, shape: [] };
    outSize = level.length * outSize > SMALL ? LATER_PARTIALS : 1;
  }
}
