// The InRank-Efficient linear layer (and, with bufferModes 0 and determineRank false,
// the fixed-rank baseline): y = (x A[:k]^T) B[:, :k]^T + bias with k = current + buffer
// modes, a counter of forward passes (training ones here; the trainer adds evaluation ones
// through countForwardPasses), and the rank determination of the
// paper's reference code (DESIGN.md, "InRank-Efficient linear layer").
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../contract/errors.ts';
import type { LinearForward, LinearLayer, Param, Precision } from '../model/linear.ts';
import type { RankEvent } from '../../contract/protocol.ts';
import { kaimingUniform } from './init.ts';
import { matMulNT, matMulTN } from './matmul.ts';
import { colSum, mmBias } from '../ops/matmul.ts';
import { pruneFactors, pruneFactorsAsync } from './prune.ts';
import { lowRankFusedApplies, lowRankFusedForward } from './lowrank-fused.ts';
import { decideRank, padSpectrum } from './rank-rule.ts';
import { singularValuesOfFactors, singularValuesOfFactorsAsync } from './spectrum.ts';
import type { PendingSpectrum, SpectrumPool } from './spectrum-pool.ts';
import { lowRankForwardHalf } from './lowrank-half.ts';
import { ownedVariable } from '../model/owned-variable.ts';

export interface LowRankOptions {
  inFeatures: number;
  outFeatures: number;
  /** Size of the factors' rank dimension: A is [maxRank x in], B is [out x maxRank]. */
  maxRank: number;
  initModes: number;
  bufferModes: number;
  determineRank: boolean;
  /** explained_ratio_threshold. */
  explainedRatio: number;
  warmupIter: number;
  gapIter: number;
  /** Micro-batches per counter tick (a single device standing in for that many data-parallel ones). */
  microBatchesPerTick: number;
  initScale: number;
  seed: number;
  /**
   * When a due determination runs. 'before-forward' (the reference): the training forward
   * that advances the counter to a due value first decides, then computes at the new rank,
   * on the weights of the latest optimizer step. 'after-forward': afterTrainingForward
   * advances the counter and decides; the new rank applies from the next forward.
   */
  timing?: 'before-forward' | 'after-forward';
  /**
   * The spectrum the rule sees. 'full' (the reference): the min(in, out) singular values of
   * the product, zeros past k. 'active': only the k singular values of the active block.
   */
  spectrumLength?: 'full' | 'active';
  /** The cap rank() reports (default maxRank); a stage-2 layer built at its pruned rank reports its stage-1 cap. */
  nominalMaxRank?: number;
  /**
   * Counter ticks between measuring a spectrum and applying the rank it gives. 0 (the
   * reference): measured and applied at the due tick, on the training thread. L > 0: the
   * Grams are read back at the due tick and their float64 work runs on spectrumPool's worker
   * threads; the rule applies at tick due + L (on the spectrum of the due tick's weights),
   * and the training thread waits only if the worker has not finished by then. Must be
   * below gapIter, so at most one determination per layer is in flight.
   */
  determinationLag?: number;
  /** Worker threads for determinations; required when determinationLag > 0. */
  spectrumPool?: SpectrumPool | null;
}

/** A spectrum measured at counter `counter`, whose rule applies at counter `applyAt`. */
interface InFlight {
  counter: number;
  applyAt: number;
  spectrum: PendingSpectrum | Float64Array;
}

/** A measured spectrum not yet applied, as a checkpoint keeps it. */
export interface InFlightState {
  counter: number;
  applyAt: number;
  singularValues: number[];
}

/** What a checkpoint must keep for the counter and the rule to resume exactly. */
export interface LowRankState {
  microBatches: number;
  counter: number;
  currentModes: number;
  /** A determination measured but not yet applied (determinationLag > 0 only). */
  inFlight?: InFlightState | null;
}

interface Decision {
  counter: number;
  currentModes: number;
  explainedRatio: number;
  singularValues: number[];
}

const EVENT_SINGULAR_VALUES = 20;

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new UserError(`low-rank layer: ${name} must be an integer >= ${min} (got ${v})`);
}

export class LowRankLinear implements LinearLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly maxRank: number;
  readonly bufferModes: number;
  /** The rank the rule has settled on (the reference's current_modes); the rank stage 1 prunes to. */
  currentModes: number;

  private readonly opts: Required<LowRankOptions>;
  private readonly A: tf.Variable<tf.Rank.R2>;
  private readonly B: tf.Variable<tf.Rank.R2>;
  private readonly bias: tf.Variable<tf.Rank.R1>;
  private microBatches = 0;
  private counter = 0;
  private tickedSinceReport = false;
  /** beforeTrainingForward ticked already for the coming training forward. */
  private preTicked = false;
  private decisions: Decision[] = [];
  private inFlight: InFlight | null = null;

  constructor(options: LowRankOptions) {
    const opts: Required<LowRankOptions> = {
      timing: 'before-forward',
      spectrumLength: 'full',
      nominalMaxRank: options.maxRank,
      determinationLag: 0,
      spectrumPool: null,
      ...options,
    };
    checkInt('inFeatures', opts.inFeatures, 1);
    checkInt('outFeatures', opts.outFeatures, 1);
    checkInt('maxRank', opts.maxRank, 1);
    checkInt('initModes', opts.initModes, 1);
    checkInt('bufferModes', opts.bufferModes, 0);
    checkInt('warmupIter', opts.warmupIter, 0);
    checkInt('gapIter', opts.gapIter, 1);
    checkInt('microBatchesPerTick', opts.microBatchesPerTick, 1);
    checkInt('determinationLag', opts.determinationLag, 0);
    if (opts.determineRank && opts.determinationLag >= opts.gapIter) {
      throw new UserError(`low-rank layer: determinationLag (${opts.determinationLag}) must be below gapIter (${opts.gapIter}); lower it`);
    }
    if (opts.determineRank && opts.determinationLag > 0 && !opts.spectrumPool) {
      throw new Error('low-rank layer: determinationLag > 0 needs a spectrumPool');
    }
    if (opts.initModes > opts.maxRank) {
      throw new UserError(`low-rank layer: initModes (${opts.initModes}) exceeds maxRank (${opts.maxRank}); lower initModes`);
    }
    this.opts = opts;
    this.inFeatures = opts.inFeatures;
    this.outFeatures = opts.outFeatures;
    this.maxRank = opts.maxRank;
    this.bufferModes = opts.bufferModes;
    this.currentModes = opts.initModes;
    const { inFeatures: n, outFeatures: m, maxRank: r, initScale, seed } = opts;
    // torch's kaiming_uniform_ takes fan_in from dim 1: in for A [r x in], r for B [out x r].
    this.A = ownedVariable(tf.tensor2d(kaimingUniform(r, n, initScale, seed, 0), [r, n]));
    this.B = ownedVariable(tf.tensor2d(kaimingUniform(m, r, initScale, seed, 1), [m, r]));
    this.bias = ownedVariable(tf.zeros([m]) as tf.Tensor1D);
  }

  /** Modes the forward pass uses: k = min(currentModes + bufferModes, maxRank). */
  get activeModes(): number {
    return this.activeModesAt(this.currentModes);
  }

  params(): Param[] {
    return [
      { name: 'A', variable: this.A, decay: true },
      { name: 'B', variable: this.B, decay: true },
      { name: 'bias', variable: this.bias, decay: false },
    ];
  }

  /** The backward products of one forward: dx, and the factors' and bias's gradients in their parameters' full layouts. */
  private factorGrads(
    saved: { xs: tf.Tensor2D; a: tf.Tensor2D; b: tf.Tensor2D; h: tf.Tensor2D },
    dy: tf.Tensor2D,
    k: number,
    half: <T extends tf.Tensor>(t: T) => T,
  ): { dx: tf.Tensor2D; fullA: tf.Tensor; fullB: tf.Tensor; dBias: tf.Tensor } {
    const { inFeatures: n, outFeatures: m, maxRank: r } = this;
    const { xs, a, b, h } = saved;
    return tf.tidy(() => {
      const g = half(dy);
      // The active blocks' gradients, each straight in its parameter's layout.
      const dB = half(matMulTN(g, h)); // out x k
      const dh = half(tf.matMul(g, b) as tf.Tensor2D); // tokens x k
      const dA = half(matMulTN(dh, xs)); // k x in
      const dx = half(tf.matMul(dh, a)) as tf.Tensor2D; // tokens x in
      const dBias = half(colSum(g)); // a ones-row product, as the dense layer's
      // AdamW sees the full parameters: zeros for the modes this forward did not use.
      const fullA = k < r ? tf.concat([dA, tf.zeros([r - k, n])], 0) : dA;
      const fullB = k < r ? tf.concat([dB, tf.zeros([m, r - k])], 1) : dB;
      return { dx, fullA, fullB, dBias };
    });
  }

  forward(x: tf.Tensor2D, training: boolean, precision: Precision): LinearForward {
    if (training && this.opts.timing === 'before-forward') {
      if (this.preTicked) this.preTicked = false;
      else this.tick();
      this.tickedSinceReport = true;
    }
    const k = this.activeModes;
    const { inFeatures: n, outFeatures: m, maxRank: r } = this;
    if (lowRankFusedApplies(k, r, precision)) return lowRankFusedForward({ x, A: this.A, B: this.B, bias: this.bias, k }, addInto);
    const half = <T extends tf.Tensor>(t: T): T => precision.half(t);
    if (precision.halfOps) return lowRankForwardHalf({ A: this.A, B: this.B, bias: this.bias, k, r, n, m }, x, { ...precision, halfOps: precision.halfOps }, addInto);
    // Saved for backward: the half-rounded input, the active factor blocks, the hidden activation.
    // In fp32 with all modes active (stage 2, fixed rank) the input and the factors themselves,
    // as the dense layer keeps its weight: a clone would copy them on wasm (its Identity kernel
    // copies), 3 copies per layer and forward for nothing. No optimizer step runs between a
    // forward and its backward, so the variables still hold the forward's values then.
    const saved = tf.tidy(() => {
      const xs = half(x);
      const a = half((k === r ? this.A : tf.slice(this.A, [0, 0], [k, n])) as tf.Tensor2D); // k x in
      const b = half((k === r ? this.B : tf.slice(this.B, [0, 0], [m, k])) as tf.Tensor2D); // out x k
      const h = half(matMulNT(xs, a)); // tokens x k
      const y = half(mmBias(h, b, half(this.bias) as tf.Tensor1D, true));
      return { xs, a, b, h, y };
    });
    const borrowed = new Set<tf.Tensor>([x, this.A, this.B]);
    let live = true;
    const release = (): void => {
      if (!live) return;
      live = false;
      tf.dispose([saved.xs, saved.a, saved.b, saved.h].filter((t) => !borrowed.has(t)));
    };
    return {
      y: saved.y,
      backward: (dy: tf.Tensor2D, grads: Map<string, tf.Tensor>): tf.Tensor2D => {
        if (!live) throw new Error('LowRankLinear: backward after dispose (or twice) for one forward');
        const out = this.factorGrads(saved, dy, k, half);
        release();
        addInto(grads, 'A', out.fullA);
        addInto(grads, 'B', out.fullB);
        addInto(grads, 'bias', out.dBias);
        return out.dx;
      },
      dispose: release,
    };
  }

  afterTrainingForward(step: number, layerName: string): RankEvent[] {
    // In 'before-forward' timing the training forward ticked already; a call with no
    // training forward since the last one still counts, so the counter never stalls.
    if (this.opts.timing === 'after-forward' || !this.tickedSinceReport) this.tick();
    this.tickedSinceReport = false;
    return this.takeEvents(step, layerName);
  }

  /**
   * Counts `ticks` forward passes that train nothing (evaluation: the reference's layer counts
   * those too): each advances the counter by one, as one eval batch on each of the
   * microBatchesPerTick devices would, and runs a determination where one is due, before the
   * forward of that tick. Returns the events of the determinations that ran.
   */
  async countForwardPasses(ticks: number, step: number, layerName: string): Promise<RankEvent[]> {
    checkInt('ticks', ticks, 0);
    for (let i = 0; i < ticks; i++) await this.runDueAsync(this.advanceCounter());
    return this.takeEvents(step, layerName);
  }

  /** The decisions since the last call, as rank events numbered with `step`. */
  private takeEvents(step: number, layerName: string): RankEvent[] {
    const events = this.decisions.map(
      (d): RankEvent => ({
        type: 'rank',
        step,
        counter: d.counter,
        layer: layerName,
        currentModes: d.currentModes,
        maxRank: this.maxRank,
        explainedRatio: d.explainedRatio,
        singularValues: d.singularValues,
      }),
    );
    this.decisions = [];
    return events;
  }

  /**
   * The tick of the coming training forward, with its determination read back asynchronously
   * (a GPU backend in Node has no synchronous read). The forward then does not tick again.
   * Same result as ticking inside the forward: the weights do not change in between.
   */
  async beforeTrainingForward(): Promise<void> {
    if (this.opts.timing !== 'before-forward') return;
    await this.runDueAsync(this.advance());
    this.preTicked = true;
  }

  /** One counted training micro-batch: every microBatchesPerTick-th (the first of each group) advances the counter. */
  private tick(): void {
    const due = this.advance();
    if (due === 'determine') this.decisions.push({ counter: this.counter, ...this.determine() });
    else if (due === 'submit') this.submitDetermination();
  }

  /** Runs what advanceCounter found due, with asynchronous read-backs. */
  private async runDueAsync(due: 'determine' | 'submit' | null): Promise<void> {
    if (due === 'determine') this.decisions.push({ counter: this.counter, ...(await this.determineAsync()) });
    else if (due === 'submit') await this.submitDeterminationAsync();
  }

  /** Counts a training micro-batch; the first of each microBatchesPerTick group advances the counter. */
  private advance(): 'determine' | 'submit' | null {
    this.microBatches += 1;
    if ((this.microBatches - 1) % this.opts.microBatchesPerTick !== 0) return null;
    return this.advanceCounter();
  }

  /** counter + 1: applies a spectrum that is due, and says whether a determination is due now. */
  private advanceCounter(): 'determine' | 'submit' | null {
    this.counter += 1;
    if (this.inFlight && this.inFlight.applyAt <= this.counter) this.applyInFlight();
    const { determineRank, warmupIter, gapIter, determinationLag } = this.opts;
    if (!(determineRank && this.counter > warmupIter && this.counter % gapIter === 0)) return null;
    return determinationLag === 0 ? 'determine' : 'submit';
  }

  /** The rank determination on the current weights: spectrum of B[:, :k] A[:k] from the factors, then the rule. */
  determine(): Omit<Decision, 'counter'> {
    const [a, b] = this.activeFactors();
    let s: Float64Array;
    try {
      s = singularValuesOfFactors(a, b);
    } finally {
      tf.dispose([a, b]);
    }
    return this.applyRule(s);
  }

  /** determine() with asynchronous read-backs. */
  async determineAsync(): Promise<Omit<Decision, 'counter'>> {
    const [a, b] = this.activeFactors();
    let s: Float64Array;
    try {
      s = await singularValuesOfFactorsAsync(a, b);
    } finally {
      tf.dispose([a, b]);
    }
    return this.applyRule(s);
  }

  /** The rule on a measured spectrum s (length k): sets currentModes. */
  private applyRule(s: Float64Array): Omit<Decision, 'counter'> {
    const spectrum = this.opts.spectrumLength === 'full' ? padSpectrum(s, Math.min(this.inFeatures, this.outFeatures)) : s;
    const decision = decideRank(spectrum, {
      currentModes: this.currentModes,
      bufferModes: this.bufferModes,
      maxRank: this.maxRank,
      threshold: this.opts.explainedRatio,
    });
    this.currentModes = decision.currentModes;
    return {
      currentModes: decision.currentModes,
      explainedRatio: decision.explainedRatio,
      singularValues: Array.from(s.subarray(0, EVENT_SINGULAR_VALUES)),
    };
  }

  /** Reads the active factors' Grams back (one read of both) and hands their float64 work to the pool. */
  private submitDetermination(): void {
    const both = this.activeGrams();
    try {
      this.submitGrams(both.dataSync() as Float32Array);
    } finally {
      both.dispose();
    }
  }

  /** submitDetermination with an asynchronous read (GPU backends). */
  private async submitDeterminationAsync(): Promise<void> {
    const both = this.activeGrams();
    try {
      this.submitGrams((await both.data()) as Float32Array);
    } finally {
      both.dispose();
    }
  }

  /** [A A^T; B^T B] of the active blocks, 2k x k. */
  private activeGrams(): tf.Tensor2D {
    return tf.tidy(() => {
      const [a, b] = this.activeFactors();
      return tf.concat([matMulNT(a, a), matMulTN(b, b)], 0);
    });
  }

  private submitGrams(data: Float32Array): void {
    const k = this.activeModes;
    const spectrum = this.opts.spectrumPool!.submit(data.slice(0, k * k), data.slice(k * k, 2 * k * k), k);
    this.inFlight = { counter: this.counter, applyAt: this.counter + this.opts.determinationLag, spectrum };
  }

  /** The in-flight spectrum, waiting for its worker if needed (its event keeps the counter it was measured at). */
  private spectrumOf(flight: InFlight): Float64Array {
    if (flight.spectrum instanceof Float64Array) return flight.spectrum;
    flight.spectrum = flight.spectrum.wait();
    return flight.spectrum;
  }

  private applyInFlight(): void {
    const flight = this.inFlight!;
    this.inFlight = null;
    this.decisions.push({ counter: flight.counter, ...this.applyRule(this.spectrumOf(flight)) });
  }

  private activeFactors(): [tf.Tensor2D, tf.Tensor2D] {
    const k = this.activeModes;
    return [
      tf.slice(this.A, [0, 0], [k, this.inFeatures]) as tf.Tensor2D,
      tf.slice(this.B, [0, 0], [this.outFeatures, k]) as tf.Tensor2D,
    ];
  }

  effectiveParamCount(): number {
    const k = this.activeModes;
    return k * this.inFeatures + this.outFeatures * k + this.outFeatures;
  }

  macsPerToken(): number {
    return this.activeModes * (this.inFeatures + this.outFeatures);
  }

  /**
   * current is currentModes, not the k the forward uses: the report shows it as the final
   * rank (% of max), and it is the rank stage 1 prunes to. activeModes gives k.
   */
  rank(): { current: number; max: number } {
    return { current: this.currentModes, max: this.opts.nominalMaxRank };
  }

  /** pruned() with an asynchronous read of the Grams (GPU backends). */
  async prunedAsync(): Promise<{ A: tf.Tensor2D; B: tf.Tensor2D; bias: tf.Tensor1D; rank: number }> {
    const rank = this.currentModes;
    const [a, b] = this.activeFactors();
    try {
      const p = await pruneFactorsAsync(a, b, rank);
      return { A: p.A, B: p.B, bias: this.bias.clone() as tf.Tensor1D, rank };
    } finally {
      a.dispose();
      b.dispose();
    }
  }

  /** Best rank-currentModes factors of B[:, :k] A[:k] (truncated SVD, sqrt(s) into each factor), and a copy of the bias. */
  pruned(): { A: tf.Tensor2D; B: tf.Tensor2D; bias: tf.Tensor1D; rank: number } {
    const rank = this.currentModes;
    const [a, b] = this.activeFactors();
    try {
      const p = pruneFactors(a, b, rank);
      return { A: p.A, B: p.B, bias: this.bias.clone() as tf.Tensor1D, rank };
    } finally {
      a.dispose();
      b.dispose();
    }
  }

  getState(): LowRankState {
    const flight = this.inFlight;
    const inFlight = flight
      ? { counter: flight.counter, applyAt: flight.applyAt, singularValues: Array.from(this.spectrumOf(flight)) }
      : null;
    return { microBatches: this.microBatches, counter: this.counter, currentModes: this.currentModes, inFlight };
  }

  setState(state: LowRankState): void {
    checkInt('state.microBatches', state?.microBatches, 0);
    checkInt('state.counter', state.counter, 0);
    checkInt('state.currentModes', state.currentModes, 1);
    if (state.currentModes > this.maxRank) {
      throw new UserError(`low-rank layer: checkpoint rank ${state.currentModes} exceeds this layer's maxRank ${this.maxRank}`);
    }
    const flight = state.inFlight ?? null;
    if (flight && !(flight.applyAt > state.counter && Array.isArray(flight.singularValues) && flight.singularValues.length === this.activeModesAt(state.currentModes))) {
      throw new UserError(`low-rank layer: checkpoint's in-flight determination does not fit this layer (applyAt ${flight.applyAt}, counter ${state.counter}); resume with the config it was written with`);
    }
    this.microBatches = state.microBatches;
    this.counter = state.counter;
    this.currentModes = state.currentModes;
    this.inFlight = flight && { counter: flight.counter, applyAt: flight.applyAt, spectrum: Float64Array.from(flight.singularValues) };
  }

  private activeModesAt(currentModes: number): number {
    return Math.min(currentModes + this.bufferModes, this.maxRank);
  }

  dispose(): void {
    if (this.inFlight && !(this.inFlight.spectrum instanceof Float64Array)) this.inFlight.spectrum.cancel();
    this.inFlight = null;
    tf.dispose([this.A, this.B, this.bias]);
  }
}

/** grads[name] += g (taking ownership of g and of the tensor it replaces). */
function addInto(grads: Map<string, tf.Tensor>, name: string, g: tf.Tensor): void {
  const prev = grads.get(name);
  if (!prev) {
    grads.set(name, g);
    return;
  }
  grads.set(name, tf.add(prev, g));
  prev.dispose();
  g.dispose();
}
