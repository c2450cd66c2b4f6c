// One forward pass of GPT-2 that records, as it goes, the closures that run its backward pass
// in reverse: the model's explicit autodiff. Each method is one piece of the network; the
// gradients land in one map by HF-style parameter name.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../contract/config.ts';
import type { LinearLayer, Precision } from './linear.ts';
import { layerNorm } from '../ops/layernorm.ts';
import type { Forward } from '../ops/grads.ts';
import { addGrad } from '../ops/grads.ts';
import { causalSelfAttention } from '../ops/attention.ts';
import { crossEntropy } from '../ops/cross-entropy.ts';
import { embeddingGrad, embeddingLookup } from '../ops/embedding.ts';
import { dropoutDraw, dropoutSite, type DropoutContext } from '../ops/dropout.ts';
import { mm, mmT, mTm } from '../ops/matmul.ts';
import { headForwardHalf } from './head-half.ts';
import { lmHeadCrossEntropy, lmHeadUsable } from '../ops/lm-head.ts';

type Backward = (dx: tf.Tensor2D) => tf.Tensor2D;

/** A pre-LayerNorm block's sub-layer: its LayerNorm's parameters and name, and its branch. */
export interface ResidualSite {
  lnW: tf.Variable;
  lnB: tf.Variable;
  lnName: string;
  /** The dropout site of the branch's output (ops/dropout.ts numbers the sites of a pass). */
  site: number;
  branch: (h: tf.Tensor2D) => tf.Tensor2D;
}

export class ForwardTape {
  readonly grads = new Map<string, tf.Tensor>();
  private readonly backs: Backward[] = [];
  private readonly n: number;
  private readonly drop: DropoutContext | null;

  constructor(
    private readonly cfg: ModelConfig,
    private readonly batch: number,
    private readonly training: boolean,
    private readonly precision: Precision,
    dropout: DropoutContext | null,
  ) {
    this.n = batch * cfg.context;
    this.drop = training ? dropout : null;
  }

  /** Token plus position embeddings, then dropout (site 0); returns x and the embeddings' backward. */
  embed(wte: tf.Variable, wpe: tf.Variable, inputs: Int32Array): { x: tf.Tensor2D; backward: (dx: tf.Tensor2D) => void } {
    const { context: t, nEmbd: c, vocabSize } = this.cfg;
    const tok = embeddingLookup(wte as tf.Tensor2D, inputs);
    const x = tf.reshape(tf.add(tf.reshape(tok, [this.batch, t, c]), wpe), [this.n, c]) as tf.Tensor2D;
    const drop = dropoutSite(this.drop, 0, [this.n, c]);
    const backward = (dy: tf.Tensor2D) => {
      const dx = drop ? drop.apply(dy) : dy;
      // position embedding: sum over the batch; token embedding: scatter-add of rows
      addGrad(this.grads, 'wpe', tf.reshape(mm(tf.ones([1, this.batch]), tf.reshape(dx, [this.batch, t * c])), [t, c]));
      addGrad(this.grads, 'wte', embeddingGrad(dx, inputs, vocabSize));
    };
    return { x: drop ? drop.apply(x) : x, backward };
  }

  /** A linear layer whose gradients go under `prefix`. */
  linear(layer: LinearLayer, prefix: string, input: tf.Tensor2D): tf.Tensor2D {
    const f = layer.forward(input, this.training, this.precision);
    // fp16 native: the layer kept a packed half copy of its input, not the input, and no other
    // piece reads the input again (LayerNorm, attention and GELU keep what their own backward
    // needs), so it is freed now instead of at the end of the step's scope.
    if (f.inputNotKept) input.dispose();
    this.backs.push((dy) => {
      const local = new Map<string, tf.Tensor>();
      const dx = f.backward(dy, local);
      for (const [k, g] of local) addGrad(this.grads, `${prefix}.${k}`, g);
      return dx;
    });
    return f.y;
  }

  /** An elementwise piece (attention, GELU) whose backward has no parameters. */
  piece(f: Forward): tf.Tensor2D {
    this.backs.push((dy) => f.backward(dy));
    return f.y;
  }

  /** Causal self-attention of one block on its c_attn output, with its attention-dropout site. */
  attention(qkv: tf.Tensor2D, layerIndex: number, scale: number): tf.Tensor2D {
    const { nHead, context: t, nEmbd: c } = this.cfg;
    // The draw, not the mask: the flash path draws the mask inside its kernels.
    const drop = dropoutDraw(this.drop, 1 + 3 * layerIndex, [this.batch * nHead, t, t]);
    const f = causalSelfAttention(qkv, { batch: this.batch, context: t, heads: nHead, embd: c }, scale, drop, this.precision);
    if (f.inputNotKept) qkv.dispose(); // fp16 native: attention saved qkv as packed halves
    return this.piece(f);
  }

  /** x + dropout(branch(LayerNorm(x))): the branch's closures run in reverse inside the residual's own. */
  residual(input: tf.Tensor2D, s: ResidualSite): tf.Tensor2D {
    const ln = layerNorm(input, s.lnW as tf.Tensor1D, s.lnB as tf.Tensor1D, this.grads, { weight: `${s.lnName}.weight`, bias: `${s.lnName}.bias` });
    const mark = this.backs.length;
    const out = s.branch(ln.y);
    const branchBacks = this.backs.splice(mark);
    const drop = dropoutSite(this.drop, s.site, [this.n, this.cfg.nEmbd]);
    this.backs.push((dy) => {
      let d = drop ? drop.apply(dy) : dy;
      for (let i = branchBacks.length - 1; i >= 0; i--) d = branchBacks[i]!(d);
      return tf.add(dy, ln.backward(d)) as tf.Tensor2D; // the skip path plus the branch
    });
    return drop ? drop.addTo(input, out) : (tf.add(input, out) as tf.Tensor2D);
  }

  /** Final LayerNorm, the tied LM head (logits = ln_f(x) wte^T) and the loss; backward returns the gradient at the head's input. */
  head(x: tf.Tensor2D, lnfW: tf.Variable, lnfB: tf.Variable, wte: tf.Variable, targets: Int32Array): { loss: tf.Scalar; backward: (gradScale: number) => tf.Tensor2D } {
    const p = this.precision;
    const lnf = layerNorm(x, lnfW as tf.Tensor1D, lnfB as tf.Tensor1D, this.grads, { weight: 'ln_f.weight', bias: 'ln_f.bias' });
    if (p.halfOps) return headForwardHalf(p.halfOps, lnf, wte as tf.Tensor2D, targets, this.grads);
    if (lmHeadUsable(p)) { // fp32 with the fused kernels: no [N, V] logits or probabilities in memory
      const f = lmHeadCrossEntropy(lnf.y, wte as tf.Tensor2D, targets);
      return { loss: f.loss, backward: (gradScale) => {
        const d = f.backward(gradScale);
        addGrad(this.grads, 'wte', d.dwte); // added to the embedding's share of the tied weight
        return lnf.backward(d.dx);
      } };
    }
    const xf = p.half(lnf.y);
    const wteH = p.half(wte as tf.Tensor2D);
    const ce = crossEntropy(p.half(mmT(xf, wteH)), targets);
    const backward = (gradScale: number) => {
      const dlogits = p.half(ce.backward(gradScale));
      addGrad(this.grads, 'wte', p.half(mTm(dlogits, xf)));
      return lnf.backward(p.half(mm(dlogits, wteH)));
    };
    return { loss: ce.loss, backward };
  }

  /** Runs the recorded closures in reverse from the head's gradient. */
  backThroughBlocks(dx: tf.Tensor2D): tf.Tensor2D {
    for (let i = this.backs.length - 1; i >= 0; i--) dx = this.backs[i]!(dx);
    return dx;
  }
}
