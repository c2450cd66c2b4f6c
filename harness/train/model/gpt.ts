// GPT-2 (HF layout: pre-LayerNorm blocks, learned positions, GELU, tied LM head) with
// explicit forward/backward: every piece returns its output and a closure for its gradient.
// The MLP's GELU is tanh or exact erf (GptOptions.activation; the run resolves it per method).
import * as tf from '@tensorflow/tfjs-core';
import { resolveActivation, type GeluKind, type ModelConfig } from '../../contract/config.ts';
import type { LinearFactory, LinearLayer, Param, Precision } from './linear.ts';
import { DenseLinear } from './dense-linear.ts';
import { layerNorm } from '../ops/layernorm.ts';
import { geluOf } from '../ops/gelu.ts';
import type { Forward } from '../ops/grads.ts';
import { causalSelfAttention } from '../ops/attention.ts';
import { crossEntropy } from '../ops/cross-entropy.ts';
import { embeddingLookup, embeddingGrad } from '../ops/embedding.ts';
import { applyMask, dropoutMask, type DropoutContext } from '../ops/dropout.ts';
import { addGrad } from '../ops/grads.ts';
import { mm, mmT, mTm } from '../ops/matmul.ts';
import { fillNormal, streamKey, stringId } from '../ops/random.ts';
import { paramCounts, trainingFlopsPerToken, type MlpCost } from '../../contract/model-cost.ts';

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
  return tf.variable(tf.tensor(data, shape), true);
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
        ln1w: tf.variable(tf.ones([c]), true),
        ln1b: tf.variable(tf.zeros([c]), true),
        attn: new DenseLinear({ inFeatures: c, outFeatures: 3 * c, initStd: cfg.initStd, initKey: init(`${p}.attn.c_attn.weight`) }),
        proj: new DenseLinear({ inFeatures: c, outFeatures: c, initStd: residStd, initKey: init(`${p}.attn.c_proj.weight`) }),
        ln2w: tf.variable(tf.ones([c]), true),
        ln2b: tf.variable(tf.zeros([c]), true),
        fc1: linears({ layerName: `${p}.mlp.fc1`, inFeatures: c, outFeatures: 4 * c, initStd: cfg.initStd, seed }),
        fc2: linears({ layerName: `${p}.mlp.fc2`, inFeatures: 4 * c, outFeatures: c, initStd: residStd, seed }),
      });
    }
    this.lnfw = tf.variable(tf.ones([c]), true);
    this.lnfb = tf.variable(tf.zeros([c]), true);
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
    const cfg = this.cfg;
    const c = cfg.nEmbd;
    const t = cfg.context;
    const n = batch * t;
    const { precision } = opts;
    const drop = opts.training ? opts.dropout : null;
    const grads = new Map<string, tf.Tensor>();
    const backs: ((dx: tf.Tensor2D) => tf.Tensor2D)[] = [];

    // embeddings
    const tok = embeddingLookup(this.wte as tf.Tensor2D, inputs);
    let x = tf.reshape(tf.add(tf.reshape(tok, [batch, t, c]), this.wpe), [n, c]) as tf.Tensor2D;
    const embMask = dropoutMask(drop, 0, [n, c]);
    x = applyMask(x, embMask);

    const linearStep = (layer: LinearLayer, prefix: string, input: tf.Tensor2D): tf.Tensor2D => {
      const f = layer.forward(input, opts.training, precision);
      backs.push((dy) => {
        const local = new Map<string, tf.Tensor>();
        const dx = f.backward(dy, local);
        for (const [k, g] of local) addGrad(grads, `${prefix}.${k}`, g);
        return dx;
      });
      return f.y;
    };

    const residual = (input: tf.Tensor2D, branch: (h: tf.Tensor2D) => tf.Tensor2D, site: number, lnW: tf.Variable, lnB: tf.Variable, lnName: string): tf.Tensor2D => {
      const ln = layerNorm(input, lnW as tf.Tensor1D, lnB as tf.Tensor1D, grads, { weight: `${lnName}.weight`, bias: `${lnName}.bias` });
      const mark = backs.length;
      const out = branch(ln.y);
      const branchBacks = backs.splice(mark); // this branch's closures, run in reverse below
      const mask = dropoutMask(drop, site, [n, c]);
      backs.push((dy) => {
        let d = applyMask(dy, mask);
        for (let i = branchBacks.length - 1; i >= 0; i--) d = branchBacks[i]!(d);
        return tf.add(dy, ln.backward(d)) as tf.Tensor2D; // the skip path plus the branch
      });
      return tf.add(input, applyMask(out, mask)) as tf.Tensor2D;
    };

    this.blocks.forEach((b, i) => {
      const p = `h.${i}`;
      const hd = c / cfg.nHead;
      const scale = (1 / Math.sqrt(hd)) * (cfg.scaleAttnByInverseLayerIdx ? 1 / (i + 1) : 1);
      x = residual(
        x,
        (h) => {
          const qkv = linearStep(b.attn, `${p}.attn.c_attn`, h);
          const attnMask = dropoutMask(drop, 1 + 3 * i, [batch * cfg.nHead, t, t]);
          const att = causalSelfAttention(qkv, { batch, context: t, heads: cfg.nHead, embd: c }, scale, attnMask, precision);
          backs.push((dy) => att.backward(dy));
          return linearStep(b.proj, `${p}.attn.c_proj`, att.y);
        },
        2 + 3 * i,
        b.ln1w,
        b.ln1b,
        `${p}.ln_1`,
      );
      x = residual(
        x,
        (h) => {
          const a = linearStep(b.fc1, `${p}.mlp.fc1`, h);
          const g = this.act(a);
          backs.push((dy) => g.backward(dy));
          return linearStep(b.fc2, `${p}.mlp.fc2`, g.y);
        },
        3 + 3 * i,
        b.ln2w,
        b.ln2b,
        `${p}.ln_2`,
      );
    });

    const lnf = layerNorm(x, this.lnfw as tf.Tensor1D, this.lnfb as tf.Tensor1D, grads, { weight: 'ln_f.weight', bias: 'ln_f.bias' });
    // tied LM head: logits = ln_f(x) wte^T
    const xf = precision.half(lnf.y);
    const wteH = precision.half(this.wte as tf.Tensor2D);
    const logits = precision.half(mmT(xf, wteH));
    const ce = crossEntropy(logits, targets);

    return {
      loss: ce.loss,
      backward: (gradScale: number) => {
        const dlogits = precision.half(ce.backward(gradScale));
        addGrad(grads, 'wte', precision.half(mTm(dlogits, xf)));
        let dx = lnf.backward(precision.half(mm(dlogits, wteH)));
        for (let i = backs.length - 1; i >= 0; i--) dx = backs[i]!(dx);
        dx = applyMask(dx, embMask);
        // position embedding: sum over the batch; token embedding: scatter-add of rows
        addGrad(grads, 'wpe', tf.reshape(mm(tf.ones([1, batch]), tf.reshape(dx, [batch, t * c])), [t, c]));
        addGrad(grads, 'wte', embeddingGrad(dx, inputs, cfg.vocabSize));
        return grads;
      },
    };
  }

  dispose(): void {
    for (const p of this.params()) p.variable.dispose();
  }
}
