// The sum of many same-shape tensors. tf.addN is one kernel with one input buffer per tensor;
// a WebGPU device allows only a few storage buffers per shader (8 on Mesa's lavapipe, more on
// NVIDIA but never hundreds), and tfjs-backend-webgpu 4.22 does not split AddN. On webgpu the
// sum is taken in groups that fit; elsewhere addN stays (the CPU paths' figures are unchanged).
import * as tf from '@tensorflow/tfjs-core';
import { matmulPath } from '../backend/select.ts';

/** Inputs per AddN on webgpu: 8 storage buffers per stage (the WebGPU minimum) less the output. */
const GROUP = 7;

export function addMany<T extends tf.Tensor>(tensors: T[]): T {
  if (tensors.length === 0) throw new Error('addMany: no tensors');
  if (matmulPath() !== 'webgpu' || tensors.length <= GROUP) return tf.addN(tensors);
  return tf.tidy(() => {
    let level: T[] = tensors;
    while (level.length > 1) {
      const next: T[] = [];
      for (let i = 0; i < level.length; i += GROUP) {
        const group = level.slice(i, i + GROUP);
        next.push(group.length === 1 ? group[0]! : tf.addN(group));
      }
      level = next;
    }
    return level[0]!;
  });
}
