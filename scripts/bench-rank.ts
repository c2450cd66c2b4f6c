// Cost of one rank determination for every InRank layer of gpt2-medium, relative to one
// training step, inline (the reference) and off the training thread (inrank.determinationLag).
// Run: npx tsx scripts/bench-rank.ts [--backend wasm|cpu] [--repeats N] [--workers W (default cores - 1)]
//
// gpt2-medium has 48 InRank layers: fc1 (1024 -> 4096) and fc2 (4096 -> 1024) in 24 blocks,
// max_rank 512, and a determination works on k = current + buffer modes. A gpt2-medium step
// cannot run on these CPUs, so the step's time is its analytic FLOPs divided by a throughput:
// (a) a plain 2-D tf.matMul measured in this run on this backend (an optimistic bound for a
//     step here: a real step runs slower than its largest matmuls), and
// (b) the throughput the paper's GPU setup is assumed to reach (stated below).
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { Matrix, QrDecomposition, SingularValueDecomposition } from 'ml-matrix';
import { decideRank, explainedRatio, padSpectrum } from '../harness/train/inrank/rank-rule.ts';
import { singularValuesOfFactors, type SpectrumTimings } from '../harness/train/inrank/spectrum.ts';
import { matMulNT, matMulTN } from '../harness/train/inrank/matmul.ts';
import { singularValuesFromGrams } from '../harness/train/inrank/gram-spectrum.ts';
import { linalgPath, type LinalgPath, setLinalgPath } from '../harness/train/inrank/linalg.ts';
import { SpectrumPool } from '../harness/train/inrank/spectrum-pool.ts';
import { LowRankLinear } from '../harness/train/inrank/lowrank-linear.ts';
import { parseCliArgs, positiveIntOption, runCli } from '../harness/cli/common.ts';
import { UserError } from '../harness/contract/errors.ts';

// The paper trains on 8 GPUs (micro-batch 8 x 8 devices x 8 accumulation steps = 512
// sequences). Assumed: an H100-class GPU sustains 400 TFLOP/s on this model in mixed
// precision (about 40% of the H100 SXM's 989 TFLOP/s dense fp16/bf16 peak).
const GPUS = 8;
const GPU_TFLOPS = 400;
const MICRO_BATCHES_PER_STEP_PER_DEVICE = 8; // counter ticks per optimizer step on each device
const GAP_ITER = 25;

const MODEL = { nEmbd: 1024, nLayer: 24, context: 1024, vocab: 50257, globalBatch: 512 };

const USAGE = 'usage: npx tsx scripts/bench-rank.ts [--backend wasm|cpu] [--repeats N] [--workers W (default cores - 1)]';

function parseRankArgs(argv: string[]): { backend: string; repeats: number; workers: number } | null {
  const { values: v } = parseCliArgs(argv, {
    backend: { type: 'string', default: 'wasm' },
    repeats: { type: 'string' },
    workers: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  } as const, 'npx tsx scripts/bench-rank.ts --help');
  if (v.help) return null;
  if (v.backend !== 'wasm' && v.backend !== 'cpu') throw new UserError(`--backend ${v.backend}: expected wasm or cpu`);
  return {
    backend: v.backend,
    repeats: positiveIntOption(v.repeats, '--repeats') ?? 3,
    // One core stays with the training thread, as it would beside a GPU run.
    workers: positiveIntOption(v.workers, '--workers') ?? Math.max(1, availableParallelism() - 1),
  };
}

/** Training FLOPs per token (forward + backward = 3 x forward, 2 FLOPs per multiply-add) at a given MLP rank (null = dense). */
function trainFlopsPerToken(mlpRank: number | null): number {
  const { nEmbd: d, nLayer: L, context: T, vocab: V } = MODEL;
  const mlp = mlpRank === null ? 8 * d * d : mlpRank * (d + 4 * d) * 2;
  const perLayer = 4 * d * d + mlp + 2 * T * d; // qkv + proj, MLP, scores and weighted values
  return 3 * 2 * (L * perLayer + d * V);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeIt(fn: () => void, repeats: number): number {
  fn(); // warm-up (JIT, kernel setup)
  const runs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    runs.push(performance.now() - t0);
  }
  return median(runs);
}

function matmulGflops(repeats: number): number {
  const a = tf.randomNormal([1024, 1024]) as tf.Tensor2D;
  const b = tf.randomNormal([1024, 1024]) as tf.Tensor2D;
  const ms = timeIt(() => tf.tidy(() => void tf.matMul(a, b).dataSync()), repeats);
  tf.dispose([a, b]);
  return (2 * 1024 ** 3) / (ms * 1e6);
}

interface Breakdown {
  /** Gram and core matMuls plus read-backs on the tensor backend (on a GPU: microseconds of FLOPs). */
  backendMs: number;
  /** Cholesky and eigenvalues in float64 on the host. */
  hostMs: number;
  ruleMs: number;
  totalMs: number;
}

/** One determination of one layer (in -> out) at k modes, split into its parts. */
function determinationCost(inF: number, outF: number, k: number, repeats: number): Breakdown {
  const a = tf.randomUniform([k, inF], -1 / Math.sqrt(inF), 1 / Math.sqrt(inF)) as tf.Tensor2D;
  const b = tf.randomUniform([outF, k], -1 / Math.sqrt(512), 1 / Math.sqrt(512)) as tf.Tensor2D;
  const parts: Record<keyof Breakdown, number[]> = { backendMs: [], hostMs: [], ruleMs: [], totalMs: [] };
  for (let rep = 0; rep <= repeats; rep++) {
    const timings: SpectrumTimings = { backendMs: 0, hostMs: 0 };
    const t0 = performance.now();
    const s = singularValuesOfFactors(a, b, timings);
    const t1 = performance.now();
    decideRank(padSpectrum(s, Math.min(inF, outF)), { currentModes: k - 100, bufferModes: 100, maxRank: 512, threshold: 0.9 });
    const t2 = performance.now();
    if (rep === 0) continue; // warm-up
    parts.backendMs.push(timings.backendMs);
    parts.hostMs.push(timings.hostMs);
    parts.ruleMs.push(t2 - t1);
    parts.totalMs.push(t2 - t0);
  }
  tf.dispose([a, b]);
  const out = {} as Breakdown;
  for (const key of Object.keys(parts) as (keyof Breakdown)[]) out[key] = median(parts[key]);
  return out;
}

/** Factor spectrum vs a dense float64 SVD on a trained-looking (decaying) spectrum: errors of s and of the rule's ratios. */
function accuracy(): void {
  const [inF, outF, k] = [512, 256, 128];
  const sTrue = Array.from({ length: k }, (_v, i) => 3 * Math.exp(-i / 12) + 0.01);
  const rand = (r: number, c: number): Matrix => Matrix.rand(r, c).sub(0.5);
  const U = new QrDecomposition(rand(outF, k)).orthogonalMatrix.subMatrix(0, outF - 1, 0, k - 1);
  const V = new QrDecomposition(rand(inF, k)).orthogonalMatrix.subMatrix(0, inF - 1, 0, k - 1);
  const mix = new QrDecomposition(rand(k, k)).orthogonalMatrix;
  const B = Float32Array.from(U.mmul(Matrix.diag(sTrue)).mmul(mix).to1DArray());
  const A = Float32Array.from(mix.transpose().mmul(V.transpose()).to1DArray());
  const got = singularValuesOfFactors(tf.tensor2d(A, [k, inF]), tf.tensor2d(B, [outF, k]));
  const Bm = new Matrix(outF, k);
  const Am = new Matrix(k, inF);
  B.forEach((v, i) => Bm.set(Math.floor(i / k), i % k, v));
  A.forEach((v, i) => Am.set(Math.floor(i / inF), i % inF, v));
  const want = new SingularValueDecomposition(Bm.mmul(Am), { autoTranspose: true, computeLeftSingularVectors: false, computeRightSingularVectors: false }).diagonal;
  let topRel = 0;
  let smallAbs = 0;
  for (let i = 0; i < k; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (want[i]! >= 1e-2 * want[0]!) topRel = Math.max(topRel, err / want[i]!);
    else smallAbs = Math.max(smallAbs, err / want[0]!);
  }
  const gp = padSpectrum(got, Math.min(inF, outF));
  const wp = padSpectrum(want.slice(0, k), Math.min(inF, outF));
  let ratioErr = 0;
  for (let i = 1; i < k; i++) ratioErr = Math.max(ratioErr, Math.abs(explainedRatio(gp, i) - explainedRatio(wp, i)));
  console.log(`accuracy (${outF}x${k} times ${k}x${inF}, s from ${sTrue[0]!.toFixed(2)} to ${sTrue[k - 1]!.toFixed(3)}, float32 factors):`);
  console.log(`  values >= 1e-2 s_max: max relative error ${topRel.toExponential(2)}; smallest values (s_min/s_max = ${(want[k - 1]! / want[0]!).toExponential(1)}): max error ${smallAbs.toExponential(2)} x s_max`);
  console.log(`  explained ratio(i), i = 1..${k - 1}: max absolute error ${ratioErr.toExponential(2)}`);
}

/** Forward + backward of one low-rank layer (gpt2 fc1 768 -> 3072, 512 tokens) at several k, against the dense layer's three matMuls. */
function layerCost(repeats: number): void {
  const [n, m, T] = [768, 3072, 512];
  const x = tf.randomNormal([T, n]) as tf.Tensor2D;
  const dy = tf.randomNormal([T, m]) as tf.Tensor2D;
  const W = tf.randomNormal([m, n]) as tf.Tensor2D;
  const fp32 = { half: <U extends tf.Tensor>(t: U): U => t };
  const dense = timeIt(() => {
    tf.tidy(() => {
      const y = tf.matMul(x, tf.transpose(W)); // forward
      const dx = tf.matMul(dy, W);
      const dW = tf.matMul(tf.transpose(dy), x);
      y.dataSync();
      dx.dataSync();
      dW.dataSync();
    });
  }, repeats);
  console.log(`layer forward + backward, ${n} -> ${m}, ${T} tokens: dense (3 matMuls) ${dense.toFixed(1)} ms`);
  for (const k of [16, 102, 200, 384]) {
    const layer = new LowRankLinear({
      inFeatures: n, outFeatures: m, maxRank: 384, initModes: k, bufferModes: 0, determineRank: false,
      explainedRatio: 0.9, warmupIter: 0, gapIter: 1, microBatchesPerTick: 1, initScale: 1, seed: 1,
    });
    const ms = timeIt(() => {
      const f = layer.forward(x, true, fp32);
      const grads = new Map<string, tf.Tensor>();
      const dx = f.backward(dy, grads);
      dx.dataSync();
      tf.dispose([f.y, dx, ...grads.values()]);
    }, repeats);
    console.log(`  low-rank k = ${String(k).padStart(3)}: ${ms.toFixed(1)} ms = ${(ms / dense).toFixed(2)} x dense (MACs ${((k * (n + m)) / (n * m)).toFixed(2)} x dense)`);
    layer.dispose();
  }
  tf.dispose([x, dy, W]);
}

const pct = (x: number): string => `${(100 * x).toPrecision(3)}%`;

interface OffThreadCost {
  /** Training thread, per layer: the Gram matMuls and their read-back on the backend. */
  backendMs: number;
  /** Training thread, per layer: symmetrizing the read-back into float64 and posting it to a worker. */
  hostMs: number;
  /** Wall time until the pool has answered all 48 layers. */
  poolWallMs: number;
  /** The same float64 work done inline on one thread, for all 48 layers. */
  inlineMs: number;
}

/**
 * One determination of all 48 layers at k modes with the float64 work on the pool. The phases
 * are timed apart: on a GPU the backend's Gram products take microseconds, so the pool's work
 * cannot hide behind them there, and is not allowed to here.
 */
async function offThreadCost(pool: SpectrumPool, k: number, repeats: number): Promise<OffThreadCost> {
  const shapes = Array.from({ length: MODEL.nLayer }, () => [[1024, 4096], [4096, 1024]] as const).flat();
  const factors = shapes.map(([inF, outF]) => ({
    a: tf.randomUniform([k, inF], -1 / Math.sqrt(inF), 1 / Math.sqrt(inF)) as tf.Tensor2D,
    b: tf.randomUniform([outF, k], -1 / Math.sqrt(512), 1 / Math.sqrt(512)) as tf.Tensor2D,
  }));
  const runs: OffThreadCost[] = [];
  for (let rep = 0; rep <= repeats; rep++) {
    const tb = performance.now();
    const grams = factors.map(({ a, b }) => {
      const [ga, gb] = [matMulNT(a, a), matMulTN(b, b)];
      const read = [ga.dataSync().slice(), gb.dataSync().slice()] as [Float32Array, Float32Array];
      tf.dispose([ga, gb]);
      return read;
    });
    const th = performance.now();
    const pending = grams.map(([ga, gb]) => pool.submit(ga, gb, k));
    const tw = performance.now();
    for (const p of pending) p.wait();
    const done = performance.now();
    for (const [ga, gb] of grams) singularValuesFromGrams(ga, gb, k);
    const inlineMs = performance.now() - done;
    if (rep > 0) runs.push({ backendMs: (th - tb) / factors.length, hostMs: (tw - th) / factors.length, poolWallMs: done - th, inlineMs });
  }
  for (const f of factors) tf.dispose([f.a, f.b]);
  const out = {} as OffThreadCost;
  for (const key of ['backendMs', 'hostMs', 'poolWallMs', 'inlineMs'] as const) out[key] = median(runs.map((r) => r[key]));
  return out;
}

/** The float64 host work of one layer's determination from its Grams, in JavaScript and in LAPACK, in this run. */
function hostPathRatio(k: number, repeats: number): { jsMs: number; lapackMs: number } {
  const a = tf.randomUniform([k, 1024], -1 / 32, 1 / 32) as tf.Tensor2D;
  const b = tf.randomUniform([4096, k], -1 / Math.sqrt(512), 1 / Math.sqrt(512)) as tf.Tensor2D;
  const [ga, gb] = [matMulNT(a, a), matMulTN(b, b)];
  const [gaData, gbData] = [ga.dataSync().slice(), gb.dataSync().slice()];
  tf.dispose([a, b, ga, gb]);
  const time = (path: LinalgPath): number => {
    setLinalgPath(path);
    return timeIt(() => void singularValuesFromGrams(gaData, gbData, k), repeats);
  };
  const jsMs = time('javascript');
  const lapackMs = time('lapack');
  return { jsMs, lapackMs };
}

/** What every section compares against: the step's size and its time here and on the assumed GPUs. */
interface StepScale {
  tokens: number;
  stepHereS: number;
  stepGpuS: number;
}

async function main(argv: string[]): Promise<number> {
  const args = parseRankArgs(argv);
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  const { backend, repeats, workers } = args;
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to start`);
  await tf.ready();
  const scale = printStepScale();
  console.log('');
  accuracy();
  console.log('');
  layerCost(repeats);
  console.log('');
  printHostPaths(repeats);
  console.log('');
  printInline(scale, repeats);
  await printOffThread(scale, repeats, workers);
  return 0;
}

function printStepScale(): StepScale {
  const gflops = matmulGflops(5);
  const tokens = MODEL.globalBatch * MODEL.context;
  const stepFlops = trainFlopsPerToken(null) * tokens;
  const stepHereS = stepFlops / (gflops * 1e9);
  const stepGpuS = stepFlops / (GPUS * GPU_TFLOPS * 1e12);
  console.log(`backend ${tf.getBackend()}: plain 2-D tf.matMul (1024^3) ${gflops.toFixed(1)} GFLOP/s (measured in this run)`);
  console.log(`gpt2-medium full-rank step: ${(stepFlops / 1e15).toFixed(3)} PFLOP (${tokens} tokens x ${(trainFlopsPerToken(null) / 1e9).toFixed(3)} GFLOP/token)`);
  console.log(`  at the measured matMul rate: ${(stepHereS / 3600).toFixed(1)} h per step`);
  console.log(`  at ${GPUS} GPUs x ${GPU_TFLOPS} TFLOP/s (assumed H100-class, mixed precision): ${stepGpuS.toFixed(3)} s per step`);
  console.log(`determinations run every ${GAP_ITER} counter ticks = ${(GAP_ITER / MICRO_BATCHES_PER_STEP_PER_DEVICE).toFixed(3)} optimizer steps at the reference schedule`);
  return { tokens, stepHereS, stepGpuS };
}

function printHostPaths(repeats: number): void {
  const lapackThere = linalgPath() === 'lapack';
  if (lapackThere) {
    console.log('float64 host work of one determination (fc1 1024 -> 4096, from its Grams: Cholesky, core, eigenvalues), ms:');
    for (const k of [102, 200, 300]) {
      const r = hostPathRatio(k, repeats);
      console.log(`  k = ${k}: JavaScript ${r.jsMs.toFixed(2)}, LAPACK ${r.lapackMs.toFixed(2)} (${(r.jsMs / r.lapackMs).toFixed(1)}x faster)`);
    }
  } else {
    console.log('float64 host work: JavaScript only (no LAPACK from the native addon, or INRANK_NATIVE_LAPACK=0)');
  }
}

/** Inline determinations (the reference timing) against one step. */
function printInline({ tokens, stepHereS, stepGpuS }: StepScale, repeats: number): void {
  console.log(`inline determinations (the reference timing; float64 host work in ${linalgPath()}):`);
  console.log('k    layer          backend  host   rule   total (ms, median)');
  for (const k of [102, 200, 300]) {
    const fc1 = determinationCost(1024, 4096, k, repeats);
    const fc2 = determinationCost(4096, 1024, k, repeats);
    for (const [name, c] of [['fc1 1024->4096', fc1], ['fc2 4096->1024', fc2]] as const) {
      const row = [c.backendMs, c.hostMs, c.ruleMs, c.totalMs].map((v) => v.toFixed(1).padStart(6)).join(' ');
      console.log(`${String(k).padEnd(4)} ${name} ${row}`);
    }
    const all = MODEL.nLayer * (fc1.totalMs + fc2.totalMs);
    const hostOnly = MODEL.nLayer * (fc1.totalMs - fc1.backendMs + fc2.totalMs - fc2.backendMs);
    const stepAtRankGpuS = (trainFlopsPerToken(k) * tokens) / (GPUS * GPU_TFLOPS * 1e12);
    console.log(`     all 48 layers: ${(all / 1000).toFixed(2)} s here (host part, without the backend's matMuls: ${(hostOnly / 1000).toFixed(2)} s)`);
    console.log(`       / one step at the measured matMul rate:          ${pct(all / 1000 / stepHereS)}`);
    console.log(`       / one full-rank step on the assumed GPUs (host part only; matMuls on the GPU ~0): ${pct(hostOnly / 1000 / stepGpuS)}` +
      `; per step amortised over ${(GAP_ITER / MICRO_BATCHES_PER_STEP_PER_DEVICE).toFixed(3)} steps: ${pct(hostOnly / 1000 / stepGpuS / (GAP_ITER / MICRO_BATCHES_PER_STEP_PER_DEVICE))}`);
    console.log(`       / one InRank step at rank ${k} on the assumed GPUs (${stepAtRankGpuS.toFixed(3)} s): ${pct(hostOnly / 1000 / stepAtRankGpuS)}` +
      `; amortised over ${(GAP_ITER / MICRO_BATCHES_PER_STEP_PER_DEVICE).toFixed(3)} steps: ${pct(hostOnly / 1000 / stepAtRankGpuS / (GAP_ITER / MICRO_BATCHES_PER_STEP_PER_DEVICE))}`);
  }
}

/** Off the training thread: what stays on it, and how long the pool needs. */
async function printOffThread({ tokens }: StepScale, repeats: number, workers: number): Promise<void> {
  const pool = await SpectrumPool.start(workers);
  console.log('');
  console.log(`off the training thread (inrank.determinationLag > 0), ${workers} worker thread(s) (float64 work in ${linalgPath()}), all 48 layers:`);
  console.log('k    training thread: backend  host (ms, per layer)   pool wall   same work inline (s, 48 layers)');
  for (const k of [102, 200, 300]) {
    const c = await offThreadCost(pool, k, repeats);
    const stepAtRankGpuS = (trainFlopsPerToken(k) * tokens) / (GPUS * GPU_TFLOPS * 1e12);
    const tickGpuS = stepAtRankGpuS / MICRO_BATCHES_PER_STEP_PER_DEVICE;
    const hostS = (c.hostMs * 2 * MODEL.nLayer) / 1000;
    const lagNeeded = Math.ceil(c.poolWallMs / 1000 / tickGpuS);
    console.log(`${String(k).padEnd(4)} ${c.backendMs.toFixed(2).padStart(24)} ${c.hostMs.toFixed(2).padStart(6)} ${(c.poolWallMs / 1000).toFixed(3).padStart(19)} ${(c.inlineMs / 1000).toFixed(3).padStart(10)}`);
    console.log(`     training-thread host part, 48 layers: ${(hostS * 1000).toFixed(1)} ms = ${pct(hostS / stepAtRankGpuS)} of one InRank step at rank ${k} on the assumed GPUs (${stepAtRankGpuS.toFixed(3)} s)` +
      `; amortised over ${(GAP_ITER / MICRO_BATCHES_PER_STEP_PER_DEVICE).toFixed(3)} steps: ${pct(hostS / stepAtRankGpuS / (GAP_ITER / MICRO_BATCHES_PER_STEP_PER_DEVICE))}`);
    console.log(`     pool wall / inline: ${(c.poolWallMs / c.inlineMs).toFixed(2)}; the pool's work is hidden at GPU speed (${(tickGpuS * 1000).toFixed(1)} ms per tick) by a lag of >= ${lagNeeded} ticks` +
      `${lagNeeded < GAP_ITER ? ` (below gap_iter ${GAP_ITER})` : ` (NOT below gap_iter ${GAP_ITER}: more workers needed)`}`);
  }
  await pool.close();
}

runCli(main);
