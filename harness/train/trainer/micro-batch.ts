// One micro-batch: forward, loss, backward; the gradients are kept (outside the tidy scope)
// so the caller can accumulate them across micro-batches.
import * as tf from '@tensorflow/tfjs-core';
import type { GPT, ForwardOptions } from '../model/gpt.ts';

export interface MicroBatchResult {
  loss: number;
  /** Gradients of gradScale x loss, by full parameter name (the caller disposes them). */
  grads: Map<string, tf.Tensor>;
  forwardMs: number;
  backwardMs: number;
}

export function runMicroBatch(
  model: GPT,
  inputs: Int32Array,
  targets: Int32Array,
  batch: number,
  opts: ForwardOptions,
  gradScale: number,
  afterForward?: () => void,
): MicroBatchResult {
  const grads = new Map<string, tf.Tensor>();
  let loss = NaN;
  const t0 = performance.now();
  let t1 = t0;
  tf.tidy(() => {
    const f = model.forward(inputs, targets, batch, opts);
    loss = f.loss.dataSync()[0]!;
    t1 = performance.now();
    afterForward?.();
    for (const [name, g] of f.backward(gradScale)) grads.set(name, tf.keep(g));
  });
  // a read forces pending backends to finish, so the time is the backward's
  const any = grads.values().next().value;
  if (any) any.dataSync();
  return { loss, grads, forwardMs: t1 - t0, backwardMs: performance.now() - t1 };
}

/** Adds src into the accumulator (taking ownership of src's tensors). */
export function accumulate(acc: Map<string, tf.Tensor>, src: Map<string, tf.Tensor>): void {
  for (const [name, g] of src) {
    const prev = acc.get(name);
    if (prev) {
      acc.set(name, tf.tidy(() => tf.add(prev, g)));
      prev.dispose();
      g.dispose();
    } else acc.set(name, g);
  }
}

/** Mean loss of a forward pass with no dropout and no backward (evaluation). */
export function evalLoss(model: GPT, inputs: Int32Array, targets: Int32Array, batch: number, opts: ForwardOptions): number {
  return tf.tidy(() => model.forward(inputs, targets, batch, { ...opts, training: false, dropout: null }).loss.dataSync()[0]!);
}
