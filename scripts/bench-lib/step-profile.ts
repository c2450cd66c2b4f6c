// One profiled training step split by part, for `bench-inrank-speedup.ts --profile`: the MLP
// products (the only part InRank shrinks), the LM head (products over the vocabulary and the
// cross-entropy), the other products (attention projections and heads), the other kernels
// (elementwise), and the JavaScript between kernels. Parts are told apart by kernel name and by
// the widths only they have: the MLP's 4 C and the InRank rank, the vocabulary.
import * as tf from '@tensorflow/tfjs-core';
import type { Stepper } from './train-step.ts';

export type StepPart = 'MLP products' | 'LM head' | 'other products' | 'other kernels' | 'between kernels';

export interface StepProfile {
  wallMs: number;
  parts: Record<StepPart, number>;
}

const isProduct = (name: string) => /MatMul|InRankHead/.test(name);

function partOf(name: string, shapes: number[][], mlpWidths: Set<number>, vocab: number): StepPart {
  const dims = shapes.flat();
  if (dims.includes(vocab) && (isProduct(name) || /Xent/.test(name))) return 'LM head';
  if (isProduct(name)) return dims.some((d) => mlpWidths.has(d)) ? 'MLP products' : 'other products';
  return 'other kernels';
}

/** Profiles one step (after the caller's warm-up); mlpWidths: 4 C, and the rank for InRank. */
export async function profileStep(stepper: Stepper, mlpWidths: number[], vocab: number): Promise<StepProfile> {
  let wallMs = 0;
  const info = await tf.profile(() => {
    wallMs = stepper.step().step;
  });
  const parts: Record<StepPart, number> = { 'MLP products': 0, 'LM head': 0, 'other products': 0, 'other kernels': 0, 'between kernels': 0 };
  const widths = new Set(mlpWidths);
  let inKernels = 0;
  for (const k of info.kernels) {
    if (k.name.endsWith('__op')) continue; // the wrapper of an op with a custom gradient, around its kernel
    const ms = k.kernelTimeMs as number;
    parts[partOf(k.name, k.inputShapes.filter((s): s is number[] => Array.isArray(s)), widths, vocab)] += ms;
    inKernels += ms;
  }
  parts['between kernels'] = Math.max(0, wallMs - inKernels);
  return { wallMs, parts };
}
