// The pluggable MLP linear layer. The model calls fc1 and fc2 of every block only
// through this interface, so dense, fixed low-rank and incremental (InRank) layers
// are interchangeable without touching the model.
//
// Gradients are explicit: forward returns the output and a closure that maps the
// output's gradient to the input's gradient and the parameters' gradients. The
// trainer never uses tfjs autodiff for the model, so only fast kernels run.
import type * as tf from '@tensorflow/tfjs-core';
import type { RankEvent } from '../../contract/protocol.ts';
import type { HalfOps } from '../precision/half-storage.ts';

export interface Param {
  /** Name local to the layer ('weight', 'bias', 'A', 'B'); the model prefixes the layer's path. */
  name: string;
  variable: tf.Variable;
  /** AdamW weight decay applies (not for biases and LayerNorm weights). */
  decay: boolean;
}

/** Hooks the precision mode supplies; identity in fp32. */
export interface Precision {
  /** Rounds a tensor as mixed precision would store it in half (returns the input itself in fp32). */
  half<T extends tf.Tensor>(x: T): T;
  /** fp16 'native' only: half storage and the f16 matmul, which the linear layers then use. */
  halfOps?: HalfOps;
}

export interface LinearForward {
  y: tf.Tensor2D;
  /** Maps dL/dy to dL/dx; adds each parameter's gradient (full variable shape) into grads by local name. */
  backward(dy: tf.Tensor2D, grads: Map<string, tf.Tensor>): tf.Tensor2D;
  /** Frees what forward kept for backward (called when no backward will follow, e.g. evaluation). */
  dispose(): void;
  /** true: forward kept no reference to its input x (fp16 native keeps a packed copy), so the caller may free x. */
  inputNotKept?: boolean;
}

export interface LinearLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  params(): Param[];
  /** x: [tokens, inFeatures] -> y: [tokens, outFeatures]. */
  forward(x: tf.Tensor2D, training: boolean, precision: Precision): LinearForward;
  /** Parameters the forward pass uses at the current rank (unused InRank modes are not counted). */
  effectiveParamCount(): number;
  /** Multiply-adds per token of the forward pass at the current rank. */
  macsPerToken(): number;
  /** Low-rank layers: the rank in use and its cap; dense layers: null. */
  rank(): { current: number; max: number } | null;
  /**
   * Called once per training micro-batch after forward; an InRank layer counts it and
   * may run a rank determination. Returns the events of a determination, if one ran.
   */
  afterTrainingForward?(step: number, layerName: string): RankEvent[];
  /**
   * Called before a training forward by callers that can wait (runMicroBatchOnDevice): a layer
   * does here, with asynchronous read-backs, what its forward would otherwise do synchronously.
   */
  beforeTrainingForward?(): Promise<void>;
  /**
   * InRank layers: counts `ticks` evaluation forward passes (one tick = one eval batch per
   * device), determining where due, with asynchronous read-backs. Returns the events of the
   * determinations that ran.
   */
  countForwardPasses?(ticks: number, step: number, layerName: string): Promise<RankEvent[]>;
  dispose(): void;
}

/** Builds the MLP linears of a model: the model asks for fc1 (n_embd -> 4 n_embd) and fc2 of each block. */
export type LinearFactory = (spec: {
  layerName: string;
  inFeatures: number;
  outFeatures: number;
  /** Init std of a dense weight (the residual projection fc2 is scaled by 1/sqrt(2 n_layer)). */
  initStd: number;
  seed: number;
}) => LinearLayer;
