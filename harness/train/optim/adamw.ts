// AdamW as torch.optim.AdamW: decoupled weight decay (p *= 1 - lr wd) on the parameters that
// decay, bias-corrected moments, eps added to the corrected sqrt(v); gradients clipped first
// to a global norm as torch.nn.utils.clip_grad_norm_ does.
import * as tf from '@tensorflow/tfjs-core';
import { addMany } from '../ops/add-many.ts';
import { FusedKernel, hasFused, runFused } from '../ops/fused.ts';
import { adamWInPlace } from '../backend/adamw-in-place.ts';
import { webgpuAdamWInPlace } from '../backend/webgpu-adamw-in-place.ts';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface OptimParam {
  fullName: string;
  variable: tf.Variable;
  decay: boolean;
}

export class AdamW {
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();
  /** Optimizer updates applied so far (torch's per-parameter `step`; skipped fp16 steps do not count). */
  t = 0;

  constructor(
    private readonly params: OptimParam[],
    private readonly opts: AdamWOptions,
  ) {
    // the zeros are disposed once the variable holds them: the moments alone own their memory,
    // so the in-place updates (backend/*adamw-in-place.ts) can take them from the first step
    const zeros = (p: OptimParam) => {
      const z = tf.zerosLike(p.variable);
      const v = tf.variable(z, false);
      z.dispose();
      return v;
    };
    for (const p of params) {
      this.m.set(p.fullName, zeros(p));
      this.v.set(p.fullName, zeros(p));
    }
  }

  /** The global L2 norm of the gradients (NaN / Inf when one overflowed). */
  static globalNorm(grads: Map<string, tf.Tensor>): number {
    return tf.tidy(() => Math.sqrt(AdamW.globalNormSquared(grads).dataSync()[0]!));
  }

  /** The squared global norm as a device scalar (read it together with the step's other scalars). */
  static globalNormSquared(grads: Map<string, tf.Tensor>): tf.Scalar {
    if (hasFused(FusedKernel.sumSquares) && grads.size > 0) {
      const inputs: tf.NamedTensorMap = {};
      let i = 0;
      for (const g of grads.values()) inputs[`t${i++}`] = g;
      return runFused(FusedKernel.sumSquares, inputs)[0] as tf.Scalar;
    }
    return tf.tidy(() => addMany([...grads.values()].map((g) => tf.sum(tf.square(g)))) as tf.Scalar);
  }

  /** One update with learning rate lr; grads are multiplied by gradMultiplier (clipping and loss-scale undo) first. */
  step(grads: Map<string, tf.Tensor>, lr: number, gradMultiplier: number): void {
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const bc1 = 1 - beta1 ** this.t;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** this.t);
    const fused = hasFused(FusedKernel.adamW);
    const decayOf = (p: OptimParam) => (p.decay && weightDecay > 0 ? 1 - lr * weightDecay : 1);
    // webgpu: many parameters per dispatch, in place; those it declines take the loop below
    const inPlace = fused ? webgpuAdamWInPlace(this.params.map((p) => ({ param: p.variable, grad: this.gradOf(grads, p),
      m: this.m.get(p.fullName)!, v: this.v.get(p.fullName)!, decay: decayOf(p) })), { lr, beta1, beta2, eps, bc1, bc2Sqrt, gradMultiplier })
      : new Set<number>();
    for (const [i, p] of this.params.entries()) {
      if (inPlace.has(i)) continue;
      const g0 = this.gradOf(grads, p);
      const m = this.m.get(p.fullName)!;
      const v = this.v.get(p.fullName)!;
      if (fused) {
        const decay = decayOf(p);
        if (adamWInPlace(p.variable, g0, m, v, { lr, beta1, beta2, eps, decay, bc1, bc2Sqrt, gradMultiplier })) continue;
        tf.tidy(() => {
          const [p1, m1, v1] = runFused(FusedKernel.adamW, { param: p.variable, grad: g0, m, v },
            { lr, beta1, beta2, eps, decay, bc1, bc2Sqrt, gradMultiplier });
          m.assign(m1!);
          v.assign(v1!);
          p.variable.assign(p1!);
        });
        continue;
      }
      tf.tidy(() => {
        const g = gradMultiplier === 1 ? g0 : tf.mul(g0, gradMultiplier);
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(m1);
        v.assign(v1);
        const decayed = p.decay && weightDecay > 0 ? tf.mul(p.variable, 1 - lr * weightDecay) : p.variable;
        const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), eps);
        p.variable.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), lr / bc1)));
      });
    }
  }

  private gradOf(grads: Map<string, tf.Tensor>, p: OptimParam): tf.Tensor {
    const g = grads.get(p.fullName);
    if (!g) throw new Error(`no gradient for ${p.fullName}`);
    return g;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** torch's clip_grad_norm_ coefficient: maxNorm / (norm + 1e-6), at most 1. */
export function clipCoefficient(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}
