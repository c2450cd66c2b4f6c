// One micro-batch: forward, loss, backward; the gradients are kept (outside the tidy scope)
// so the caller can accumulate them across micro-batches.
import * as tf from '@tensorflow/tfjs-core';
import type { GPT, ForwardOptions } from '../model/gpt.ts';
import { AdamW } from '../optim/adamw.ts';
import { webgpuAccumulateInPlace } from '../backend/webgpu-accumulate-in-place.ts';

export interface MicroBatchResult {
  loss: number;
  /** Gradients of gradScale x loss, by full parameter name (the caller disposes them). */
  grads: Map<string, tf.Tensor>;
  forwardMs: number;
  backwardMs: number;
}

/** Forward and backward of one micro-batch: the loss as a tensor, the gradients kept outside the tidy scope. */
function forwardBackward(model: GPT, inputs: Int32Array, targets: Int32Array, batch: number, opts: ForwardOptions,
  gradScale: number, afterForward?: (loss: tf.Scalar) => void): DeviceMicroBatch {
  const grads = new Map<string, tf.Tensor>();
  const loss = tf.tidy(() => {
    const f = model.forward(inputs, targets, batch, opts);
    afterForward?.(f.loss);
    for (const [name, g] of f.backward(gradScale)) grads.set(name, tf.keep(g));
    return f.loss;
  });
  return { loss, grads };
}

/** One micro-batch read back synchronously, with its forward and backward timed apart (the benchmarks). */
export function runMicroBatch(
  model: GPT,
  inputs: Int32Array,
  targets: Int32Array,
  batch: number,
  opts: ForwardOptions,
  gradScale: number,
  afterForward?: () => void,
): MicroBatchResult {
  const t0 = performance.now();
  let t1 = t0;
  const { loss, grads } = forwardBackward(model, inputs, targets, batch, opts, gradScale, (l) => {
    l.dataSync(); // the read finishes the forward, so the time is its own
    t1 = performance.now();
    afterForward?.();
  });
  const value = loss.dataSync()[0]!;
  loss.dispose();
  // a read forces pending backends to finish, so the time is the backward's; the smallest
  // gradient, since on wasm a read is a copy (the first one, the embedding's, is 2.6 MB at the cpu
  // profile's shapes: a cost the trainer, which reads only scalars, never pays)
  smallestOf(grads.values())?.dataSync();
  return { loss: value, grads, forwardMs: t1 - t0, backwardMs: performance.now() - t1 };
}

/** One micro-batch kept on the device: the loss stays a tensor (the caller reads it with others). */
export interface DeviceMicroBatch {
  loss: tf.Scalar;
  grads: Map<string, tf.Tensor>;
}

/**
 * runMicroBatch without a read-back: the layers' own reads (rank determinations) happen before
 * the forward, asynchronously, and the loss is returned as a tensor. Same values as runMicroBatch.
 */
export async function runMicroBatchOnDevice(
  model: GPT,
  inputs: Int32Array,
  targets: Int32Array,
  batch: number,
  opts: ForwardOptions,
  gradScale: number,
): Promise<DeviceMicroBatch> {
  if (opts.training) for (const { layer } of model.mlpLayers()) await layer.beforeTrainingForward?.();
  return forwardBackward(model, inputs, targets, batch, opts, gradScale);
}

/**
 * The step's one read-back: every micro-batch loss and the squared global gradient norm, in
 * one transfer. The losses are summed on the host in float64 as before, so the figures do not
 * depend on where the sum ran; gradNormSquared is AdamW.globalNorm's sum, not yet rooted.
 */
export async function readStepScalars(losses: tf.Scalar[], grads: Map<string, tf.Tensor>): Promise<{ losses: number[]; scaledNorm: number }> {
  const packed = tf.tidy(() => tf.concat([tf.stack(losses), tf.reshape(grads.size ? AdamW.globalNormSquared(grads) : tf.scalar(0), [1])]));
  try {
    const data = await packed.data();
    return { losses: Array.from(data.subarray(0, losses.length)), scaledNorm: Math.sqrt(data[losses.length]!) };
  } finally {
    packed.dispose();
    tf.dispose(losses);
  }
}

/** Adds src into the accumulator (taking ownership of src's tensors). */
export function accumulate(acc: Map<string, tf.Tensor>, src: Map<string, tf.Tensor>): void {
  // webgpu: the sums written into acc's own buffers, several per dispatch, where acc alone holds them
  const pairs = [...src].flatMap(([name, g]) => (acc.has(name) ? [{ acc: acc.get(name)!, g }] : []));
  const inPlace = new Set([...webgpuAccumulateInPlace(pairs)].map((i) => pairs[i]!.g));
  for (const [name, g] of src) {
    const prev = acc.get(name);
    if (prev && inPlace.has(g)) g.dispose();
    else if (prev) {
      acc.set(name, tf.tidy(() => tf.add(prev, g)));
      prev.dispose();
      g.dispose();
    } else acc.set(name, g);
  }
}

/** evalLoss without a read-back: the mean loss as a tensor (evaluation reads all its batches at once). */
export function evalLossOnDevice(model: GPT, inputs: Int32Array, targets: Int32Array, batch: number, opts: ForwardOptions): tf.Scalar {
  return tf.tidy(() => model.forward(inputs, targets, batch, { ...opts, training: false, dropout: null }).loss);
}

/** The tensor with the fewest elements, to read for a wait at the least copying; undefined for none. */
export function smallestOf(tensors: Iterable<tf.Tensor>): tf.Tensor | undefined {
  let best: tf.Tensor | undefined;
  for (const t of tensors) if (best === undefined || t.size < best.size) best = t;
  return best;
}
