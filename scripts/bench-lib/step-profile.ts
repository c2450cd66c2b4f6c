// Profiled training steps split by part, for `bench-inrank-speedup.ts --profile-steps`: the MLP
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

/** One kernel name at its input shapes: its calls in a step and their time (the rounds' minimum, summed). */
export interface KernelRow {
  key: string;
  calls: number;
  ms: number;
}

type Profiled = Awaited<ReturnType<typeof tf.profile>>['kernels'];

/** Each kernel call's least time over the rounds (a step runs the same kernels in the same order). */
function leastTimes(rounds: Profiled[]): number[] {
  const first = rounds[0]!;
  const same = rounds.filter((r) => r.length === first.length && r.every((k, i) => k.name === first[i]!.name));
  return first.map((_, i) => Math.min(...same.map((r) => r[i]!.kernelTimeMs as number)));
}

/**
 * Profiles `rounds` steps (after the caller's warm-up) and keeps, per kernel call and for the
 * wall time, the least of the rounds: on a shared machine a single step's figures swing with the
 * load. mlpWidths: 4 C, and the rank for InRank.
 */
export async function profileStep(stepper: Stepper, mlpWidths: number[], vocab: number, rounds = 3): Promise<StepProfile & { kernels: KernelRow[] }> {
  let wallMs = Infinity;
  let between = Infinity; // each round's wall time less its kernels' time: the least of the rounds
  const profiled: Profiled[] = [];
  for (let r = 0; r < rounds; r++) {
    let wall = 0;
    const info = await tf.profile(() => {
      wall = stepper.step().step;
    });
    // the wrapper of an op with a custom gradient, around its kernel, is not a kernel of its own
    const kernels = info.kernels.filter((k) => !k.name.endsWith('__op'));
    profiled.push(kernels);
    wallMs = Math.min(wallMs, wall);
    between = Math.min(between, wall - kernels.reduce((t, k) => t + (k.kernelTimeMs as number), 0));
  }
  const parts: Record<StepPart, number> = { 'MLP products': 0, 'LM head': 0, 'other products': 0, 'other kernels': 0, 'between kernels': 0 };
  const widths = new Set(mlpWidths);
  const rows = new Map<string, KernelRow>();
  leastTimes(profiled).forEach((ms, i) => {
    const k = profiled[0]![i]!;
    const shapes = k.inputShapes.filter((s): s is number[] => Array.isArray(s));
    parts[partOf(k.name, shapes, widths, vocab)] += ms;
    const key = `${k.name} ${shapes.map((s) => `[${s}]`).join(' ')}`;
    const row = rows.get(key) ?? { key, calls: 0, ms: 0 };
    row.calls++;
    row.ms += ms;
    rows.set(key, row);
  });
  parts['between kernels'] = Math.max(0, between);
  return { wallMs, parts, kernels: [...rows.values()].sort((a, b) => b.ms - a.ms) };
}
