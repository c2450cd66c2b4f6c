// A variable that alone owns its memory. tf.variable(init) shares init's buffer; an initial
// tensor left undisposed keeps a second reference to it, which holds a full copy of every
// parameter alive after the first update and keeps the in-place AdamW updates
// (backend/*adamw-in-place.ts) off for the first step.
import * as tf from '@tensorflow/tfjs-core';

export function ownedVariable<R extends tf.Rank>(init: tf.Tensor<R>, trainable = true): tf.Variable<R> {
  const v = tf.variable(init, trainable, undefined, 'float32');
  init.dispose();
  return v;
}
