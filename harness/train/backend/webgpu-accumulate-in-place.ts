// Gradient accumulation across micro-batches on webgpu in place: each accumulated gradient's
// buffer gets the new micro-batch's gradient added (webgpu-kernels/accumulate-multi.ts), several
// tensors per dispatch, instead of one tf.add and a fresh tensor per parameter per micro-batch.
// As for the in-place AdamW (webgpu-adamw-in-place.ts), a sum is written in place only when the
// accumulator alone holds it (reference count 1) and no other tensor of the accumulation shares
// its buffer; the others take tf.add, whose fresh result the accumulator then owns.
import type * as tf from '@tensorflow/tfjs-core';
import { accumulateSource, accumulateTable } from './webgpu-kernels/accumulate-multi.ts';
import { dataIdCounts, dropCpuCopies, encodeMulti, type MultiItem } from './webgpu-multi-dispatch.ts';
import { float32Buffer, webgpuInternals, type TfjsWebgpuInternals } from './webgpu-tfjs-internals.ts';

const SHADER = { key: 'inrank_accumulate_multi', perTensor: 2, source: accumulateSource, table: (sizes: number[]) => accumulateTable(sizes) };

/** Dispatches and tensors accumulated since start-up (tests read it). */
export const accumulateStats = { dispatches: 0, tensors: 0 };

/** Adds each pair's g into its acc in place where it can; returns the indexes it did (none off webgpu). */
export function webgpuAccumulateInPlace(pairs: Array<{ acc: tf.Tensor; g: tf.Tensor }>): Set<number> {
  const done = new Set<number>();
  const b = process.env.INRANK_WEBGPU_IN_PLACE === '0' ? null : webgpuInternals();
  if (b === null) return done;
  const seen = dataIdCounts(pairs.flatMap((p) => [p.acc, p.g]));
  const bound: MultiItem[] = [];
  pairs.forEach((p, i) => {
    const item = bind(b, p.acc, p.g, seen);
    if (item === null) return;
    bound.push(item);
    done.add(i);
  });
  if (bound.length === 0) return done;
  accumulateStats.dispatches += encodeMulti(b, SHADER, bound);
  accumulateStats.tensors += bound.length;
  dropCpuCopies(b, [...done].map((i) => pairs[i]!.acc));
  return done;
}

function bind(b: TfjsWebgpuInternals, acc: tf.Tensor, g: tf.Tensor, seen: Map<object, number>): MultiItem | null {
  if (acc.size === 0 || g.size !== acc.size || seen.get(acc.dataId) !== 1 || seen.get(g.dataId) !== 1) return null;
  if (b.refCount(acc.dataId) !== 1) return null;
  const buffers = [float32Buffer(b, acc), float32Buffer(b, g)];
  if (buffers[0] === null || buffers[1] === null || buffers[0] === buffers[1]) return null;
  return { buffers: [buffers[0], buffers[1]], size: acc.size, dataIds: [acc.dataId, g.dataId] };
}
