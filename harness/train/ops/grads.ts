import type * as tf from '@tensorflow/tfjs-core';
import { add } from '@tensorflow/tfjs-core';

/** Adds g into grads[name] (a parameter used twice, like the tied embedding, gets the sum). */
export function addGrad(grads: Map<string, tf.Tensor>, name: string, g: tf.Tensor): void {
  const prev = grads.get(name);
  grads.set(name, prev ? add(prev, g) : g);
}

/** A differentiable piece: its output and the map from the output's gradient to the input's. */
export interface Forward<Y extends tf.Tensor = tf.Tensor2D, X extends tf.Tensor = tf.Tensor2D> {
  y: Y;
  backward(dy: Y): X;
  /** true: forward kept no reference to its input (it saved a packed half copy), so the caller may free it. */
  inputNotKept?: boolean;
}
