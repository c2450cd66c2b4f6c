// Moving model and optimizer tensors in and out of checkpoints.
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../contract/errors.ts';
import type { NamedArray } from '../checkpoint.ts';
import type { GPT } from '../model/gpt.ts';
import type { AdamW } from '../optim/adamw.ts';
import type { LinearLayer } from '../model/linear.ts';

/** A host copy of a tensor, read asynchronously (the only read a GPU backend in Node has). */
async function snapshot(name: string, t: tf.Tensor): Promise<NamedArray> {
  return { name, shape: t.shape.slice(), data: new Float32Array((await t.data()) as Float32Array) };
}

/** Parameters as p:<name>, AdamW moments as m:<name> / v:<name>. */
export async function modelTensors(model: GPT, optim: AdamW): Promise<NamedArray[]> {
  const out: NamedArray[] = [];
  for (const p of model.params()) {
    out.push(await snapshot(`p:${p.fullName}`, p.variable));
    out.push(await snapshot(`m:${p.fullName}`, optim.m.get(p.fullName)!));
    out.push(await snapshot(`v:${p.fullName}`, optim.v.get(p.fullName)!));
  }
  return out;
}

function assignFrom(target: tf.Variable, src: NamedArray | undefined, what: string, file: string): void {
  if (!src) throw new UserError(`${file} has no tensor for ${what}; was it written for another model?`);
  const want = target.shape.join('x');
  if (src.shape.join('x') !== want) throw new UserError(`${file}: ${what} has shape ${src.shape.join('x')}, this model needs ${want}`);
  // assign takes its own reference: the loaded tensor is disposed, so the variable alone owns it
  // (harness/train/model/owned-variable.ts says why that matters)
  const loaded = tf.tensor(src.data, src.shape, 'float32');
  target.assign(loaded);
  loaded.dispose();
}

/** Loads parameters, and the moments unless resetMoments (they stay zero). */
export function loadModelTensors(model: GPT, optim: AdamW, tensors: Map<string, NamedArray>, file: string, resetMoments = false): void {
  for (const p of model.params()) {
    assignFrom(p.variable, tensors.get(`p:${p.fullName}`), p.fullName, file);
    if (resetMoments) continue;
    assignFrom(optim.m.get(p.fullName)!, tensors.get(`m:${p.fullName}`), `the first moment of ${p.fullName}`, file);
    assignFrom(optim.v.get(p.fullName)!, tensors.get(`v:${p.fullName}`), `the second moment of ${p.fullName}`, file);
  }
}

interface Stateful {
  getState(): unknown;
  setState(state: unknown): void;
}
function stateful(layer: LinearLayer): Stateful | null {
  const l = layer as unknown as Partial<Stateful>;
  return typeof l.getState === 'function' && typeof l.setState === 'function' ? (l as Stateful) : null;
}

export function layerStates(model: GPT): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { name, layer } of model.mlpLayers()) {
    const s = stateful(layer);
    if (s) out[name] = s.getState();
  }
  return out;
}

export function restoreLayerStates(model: GPT, states: Record<string, unknown>): void {
  for (const { name, layer } of model.mlpLayers()) {
    const s = stateful(layer);
    if (s && states[name] !== undefined) s.setState(states[name]);
  }
}

/**
 * Stage 1's pruned tensors: every MLP layer's best rank-r factors, and its moments cut to the
 * new shapes as the reference does (first r rows of A's, first r columns of B's), although
 * the basis changed under them.
 */
export async function prunedTensors(model: GPT, optim: AdamW): Promise<{ tensors: NamedArray[]; ranks: Record<string, number> }> {
  const ranks: Record<string, number> = {};
  const replaced = new Map<string, NamedArray>();
  for (const { name, layer } of model.mlpLayers()) {
    const pr = (layer as unknown as { prunedAsync?: () => Promise<{ A: tf.Tensor2D; B: tf.Tensor2D; bias: tf.Tensor1D; rank: number }> }).prunedAsync;
    if (!pr) throw new Error(`${name} is not a low-rank layer; stage 1 needs method inrank`);
    const cut = await pr.call(layer);
    ranks[name] = cut.rank;
    const r = cut.rank;
    replaced.set(`p:${name}.A`, await snapshot(`p:${name}.A`, cut.A));
    replaced.set(`p:${name}.B`, await snapshot(`p:${name}.B`, cut.B));
    replaced.set(`p:${name}.bias`, await snapshot(`p:${name}.bias`, cut.bias));
    tf.dispose([cut.A, cut.B, cut.bias]);
    for (const kind of ['m', 'v'] as const) {
      const store = kind === 'm' ? optim.m : optim.v;
      const a = store.get(`${name}.A`)!;
      const b = store.get(`${name}.B`)!;
      const aCut = tf.slice(a, [0, 0], [r, a.shape[1]!]);
      const bCut = tf.slice(b, [0, 0], [b.shape[0]!, r]);
      replaced.set(`${kind}:${name}.A`, await snapshot(`${kind}:${name}.A`, aCut));
      replaced.set(`${kind}:${name}.B`, await snapshot(`${kind}:${name}.B`, bCut));
      tf.dispose([aCut, bCut]);
    }
  }
  const tensors = (await modelTensors(model, optim)).map((t) => replaced.get(t.name) ?? t);
  return { tensors, ranks };
}
