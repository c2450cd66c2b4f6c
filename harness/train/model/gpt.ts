// GPT-2 (HF layout: pre-LayerNorm blocks, learned positions, GELU, tied LM head) with
// explicit forward/backward: every piece returns its output and a closure for its gradient.
// The MLP's GELU is tanh or exact erf (GptOptions.activation; the run resolves it per method).
import * as tf from '@tensorflow/tfjs-core';
import { resolveActivation, type GeluKind, type ModelConfig } from '../../contract/config.ts';
import type { LinearFactory, LinearLayer, Param, Precision } from './linear.ts';
import { DenseLinear } from './dense-linear.ts';
import { geluOf } from '../ops/gelu.ts';
import type { Forward } from '../ops/grads.ts';
import { fillNormal, streamKey, stringId } from '../ops/random.ts';
import type { DropoutContext } from '../ops/dropout.ts';
import { ForwardTape } from './forward-tape.ts';
import { paramCounts, trainingFlopsPerToken, type MlpCost } from '../../contract/model-cost.ts';
import { ownedVariable } from './owned-variable.ts';

export interface NamedParam extends Param {
  /** Full HF-style name, e.g. h.0.attn.c_attn.weight. */
  fullName: string;
}

interface Block {
  ln1w: tf.Variable;
  ln1b: tf.Variable;
  attn: DenseLinear;
  proj: DenseLinear;
  ln2w: tf.Variable;
  ln2b: tf.Variable;
  fc1: LinearLayer;
  fc2: LinearLayer;
}

export interface GptOptions {
  /**
   * The MLP's GELU. Default: cfg.activation resolved as for the full-rank method (a run passes
   * resolveActivation(cfg.model.activation, cfg.method)).
   */
  activation?: GeluKind;
}

export interface ForwardOptions {
  training: boolean;
  /** Dropout masks of this micro-batch (null: no dropout, e.g. evaluation). */
  dropout: DropoutContext | null;
  precision: Precision;
}

export interface LossForward {
  /** Mean token cross-entropy (unscaled). */
  loss: tf.Scalar;
  /** Gradients of gradScale x loss for every parameter, by full name. */
  backward(gradScale: number): Map<string, tf.Tensor>;
}

function normalVariable(key: number, shape: number[], std: number): tf.Variable {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  fillNormal(key, data, std);
  return ownedVariable(tf.tensor(data, shape));
}

export class GPT {
  readonly cfg: ModelConfig;
  readonly wte: tf.Variable;
  readonly wpe: tf.Variable;
  readonly blocks: Block[] = [];
  readonly lnfw: tf.Variable;
  readonly lnfb: tf.Variable;
  /** The GELU the MLPs compute with. */
  readonly activation: GeluKind;
  private readonly act: (x: tf.Tensor2D) => Forward;

  constructor(cfg: ModelConfig, seed: number, linears: LinearFactory, opts: GptOptions = {}) {
    this.cfg = cfg;
    this.activation = opts.activation ?? resolveActivation(cfg.activation ?? 'reference', 'full');
    this.act = geluOf(this.activation);
    const c = cfg.nEmbd;
    const init = (name: string) => streamKey(seed, stringId(name));
    // HF GPT-2 init: normal(0, initStd); residual projections scaled by 1/sqrt(2 n_layer).
    const residStd = cfg.initStd / Math.sqrt(2 * cfg.nLayer);
    this.wte = normalVariable(init('wte'), [cfg.vocabSize, c], cfg.initStd);
    this.wpe = normalVariable(init('wpe'), [cfg.context, c], cfg.initStd);
    for (let i = 0; i < cfg.nLayer; i++) {
      const p = `h.${i}`;
      this.blocks.push({
        ln1w: ownedVariable(tf.ones([c])),
        ln1b: ownedVariable(tf.zeros([c])),
        attn: new DenseLinear({ inFeatures: c, outFeatures: 3 * c, initStd: cfg.initStd, initKey: init(`${p}.attn.c_attn.weight`) }),
        proj: new DenseLinear({ inFeatures: c, outFeatures: c, initStd: residStd, initKey: init(`${p}.attn.c_proj.weight`) }),
        ln2w: ownedVariable(tf.ones([c])),
        ln2b: ownedVariable(tf.zeros([c])),
        fc1: linears({ layerName: `${p}.mlp.fc1`, inFeatures: c, outFeatures: 4 * c, initStd: cfg.initStd, seed }),
        fc2: linears({ layerName: `${p}.mlp.fc2`, inFeatures: 4 * c, outFeatures: c, initStd: residStd, seed }),
      });
    }
    this.lnfw = ownedVariable(tf.ones([c]));
    this.lnfb = ownedVariable(tf.zeros([c]));
  }

  /**
   * Every trainable parameter with its HF-style name. LayerNorm weights, biases and the
   * embeddings do not decay, as the reference's parameter grouping (optim/param-groups.ts can
   * put the embeddings back, train.decayEmbeddings).
   */
  params(): NamedParam[] {
    const out: NamedParam[] = [
      { fullName: 'wte', name: 'wte', variable: this.wte, decay: false },
      { fullName: 'wpe', name: 'wpe', variable: this.wpe, decay: false },
    ];
    const lin = (prefix: string, layer: LinearLayer) => {
      for (const p of layer.params()) out.push({ ...p, fullName: `${prefix}.${p.name}` });
    };
    this.blocks.forEach((b, i) => {
      const p = `h.${i}`;
      out.push({ fullName: `${p}.ln_1.weight`, name: 'weight', variable: b.ln1w, decay: false });
      out.push({ fullName: `${p}.ln_1.bias`, name: 'bias', variable: b.ln1b, decay: false });
      lin(`${p}.attn.c_attn`, b.attn);
      lin(`${p}.attn.c_proj`, b.proj);
      out.push({ fullName: `${p}.ln_2.weight`, name: 'weight', variable: b.ln2w, decay: false });
      out.push({ fullName: `${p}.ln_2.bias`, name: 'bias', variable: b.ln2b, decay: false });
      lin(`${p}.mlp.fc1`, b.fc1);
      lin(`${p}.mlp.fc2`, b.fc2);
    });
    out.push({ fullName: 'ln_f.weight', name: 'weight', variable: this.lnfw, decay: false });
    out.push({ fullName: 'ln_f.bias', name: 'bias', variable: this.lnfb, decay: false });
    return out;
  }

  /** The MLP linears by layer name (h.{i}.mlp.fc1 / fc2). */
  mlpLayers(): { name: string; layer: LinearLayer }[] {
    return this.blocks.flatMap((b, i) => [
      { name: `h.${i}.mlp.fc1`, layer: b.fc1 },
      { name: `h.${i}.mlp.fc2`, layer: b.fc2 },
    ]);
  }

  private mlpCosts(): MlpCost[] {
    return this.blocks.map((b) => ({
      params: b.fc1.effectiveParamCount() + b.fc2.effectiveParamCount(),
      macsPerToken: b.fc1.macsPerToken() + b.fc2.macsPerToken(),
    }));
  }

  /** Parameters the forward pass uses at the current ranks. */
  paramCounts(): { total: number; mlp: number } {
    return paramCounts(this.cfg, this.mlpCosts());
  }

  flopsPerToken(): number {
    return trainingFlopsPerToken(this.cfg, this.mlpCosts());
  }

  /** Ranks of the low-rank MLP layers (null for a dense model). */
  ranks(): { current: Record<string, number>; max: Record<string, number> } | null {
    const current: Record<string, number> = {};
    const max: Record<string, number> = {};
    let any = false;
    for (const { name, layer } of this.mlpLayers()) {
      const r = layer.rank();
      if (!r) continue;
      any = true;
      current[name] = r.current;
      max[name] = r.max;
    }
    return any ? { current, max } : null;
  }

  /**
   * inputs / targets: [batch * context] token ids, row-major. Must run inside tf.tidy (the
   * forward keeps its activations for backward as ordinary tensors of the enclosing scope).
   */
  forward(inputs: Int32Array, targets: Int32Array, batch: number, opts: ForwardOptions): LossForward {
    const tape = new ForwardTape(this.cfg, batch, opts.training, opts.precision, opts.dropout);
    const emb = tape.embed(this.wte, this.wpe, inputs);
    let x = emb.x;
    this.blocks.forEach((b, i) => {
      x = tape.residual(x, { lnW: b.ln1w, lnB: b.ln1b, lnName: `h.${i}.ln_1`, site: 2 + 3 * i, branch: (h) => this.attentionBranch(tape, b, i, h) });
      x = tape.residual(x, { lnW: b.ln2w, lnB: b.ln2b, lnName: `h.${i}.ln_2`, site: 3 + 3 * i, branch: (h) => this.mlpBranch(tape, b, i, h) });
    });
    const head = tape.head(x, this.lnfw, this.lnfb, this.wte, targets);
    return {
      loss: head.loss,
      backward: (gradScale: number) => {
        emb.backward(tape.backThroughBlocks(head.backward(gradScale)));
        return tape.grads;
      },
    };
  }

  private attentionBranch(tape: ForwardTape, b: Block, i: number, h: tf.Tensor2D): tf.Tensor2D {
    const cfg = this.cfg;
    const scale = (1 / Math.sqrt(cfg.nEmbd / cfg.nHead)) * (cfg.scaleAttnByInverseLayerIdx ? 1 / (i + 1) : 1);
    const qkv = tape.linear(b.attn, `h.${i}.attn.c_attn`, h);
    return tape.linear(b.proj, `h.${i}.attn.c_proj`, tape.attention(qkv, i, scale));
  }

  private mlpBranch(tape: ForwardTape, b: Block, i: number, h: tf.Tensor2D): tf.Tensor2D {
    const a = tape.linear(b.fc1, `h.${i}.mlp.fc1`, h);
    return tape.linear(b.fc2, `h.${i}.mlp.fc2`, tape.piece(this.act(a)));
  }

  dispose(): void {
    for (const p of this.params()) p.variable.dispose();
  }
}
