// npm run bench -- --backend webgpu [--model bench|gpt2] [--steps N]
// The trainer's own step (device micro-batch, one read-back per step, AdamW) on WebGPU, next to
// the best CPU path of this machine (wasm with OpenBLAS when the addon is built) measured in the
// same invocation: tokens/s, model TFLOP/s, and on WebGPU the compute dispatches per step,
// counted at GPUComputePassEncoder.dispatchWorkgroups (every kernel tfjs runs is one dispatch).
// Each backend runs in a child process of its own: the ops pick their formulation by the
// backend at start-up.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { modelSchema, type ModelConfig } from '../harness/contract/config.ts';
import { UserError } from '../harness/contract/errors.ts';
import { selectBackend } from '../harness/train/backend/select.ts';
import { GPT } from '../harness/train/model/gpt.ts';
import { denseFactory } from '../harness/train/model/linears.ts';
import { AdamW, clipCoefficient } from '../harness/train/optim/adamw.ts';
import { precisionOf } from '../harness/train/precision/index.ts';
import { accumulate, readStepScalars, runMicroBatchOnDevice } from '../harness/train/trainer/micro-batch.ts';
import { streamKey, uniformAt } from '../harness/train/ops/random.ts';

export type BenchModel = 'bench' | 'gpt2';

const SHAPES: Record<BenchModel, { model: Partial<ModelConfig>; batch: number; label: string }> = {
  bench: { model: { nEmbd: 256, nHead: 4, nLayer: 4, context: 128, vocabSize: 4096 }, batch: 8, label: 'n_embd 256, 4 layers, 4 heads, context 128, micro-batch 8, vocab 4096' },
  gpt2: { model: { nEmbd: 768, nHead: 12, nLayer: 12, context: 1024, vocabSize: 50257 }, batch: 8, label: 'GPT-2 124M: n_embd 768, 12 layers, 12 heads, context 1024, micro-batch 8, vocab 50257' },
};

export interface DeviceBenchResult {
  backend: string;
  path: string;
  adapter: string | null;
  tokensPerS: number;
  stepMs: number;
  tflops: number;
  /** Compute dispatches per step (webgpu only). */
  dispatches: number | null;
}

const TAG = 'DEVICE_BENCH ';

/** Counts every compute dispatch Dawn receives (tfjs runs one per kernel). */
function countDispatches(): () => number {
  const ctor = (globalThis as { GPUComputePassEncoder?: { prototype: { dispatchWorkgroups: (...a: unknown[]) => void } } }).GPUComputePassEncoder;
  if (!ctor) return () => NaN;
  const original = ctor.prototype.dispatchWorkgroups;
  let count = 0;
  ctor.prototype.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
    count++;
    return original.apply(this, a);
  };
  return () => count;
}

/** The trainer's step: forward + backward on the device, one read of the loss and norm, AdamW. */
async function trainStep(model: GPT, optim: AdamW, cfg: ModelConfig, batch: number, step: number): Promise<number> {
  const tokens = batch * cfg.context;
  const ids = Int32Array.from({ length: tokens + 1 }, (_, i) => Math.floor(uniformAt(streamKey(7, step), i) * cfg.vocabSize));
  const acc = new Map<string, tf.Tensor>();
  const opts = { training: true, dropout: { p: cfg.dropout, seed: 1113, step, micro: 0 }, precision: precisionOf('fp32') };
  const r = await runMicroBatchOnDevice(model, ids.subarray(0, tokens), ids.subarray(1), batch, opts, 1);
  accumulate(acc, r.grads);
  const read = await readStepScalars([r.loss], acc);
  optim.step(acc, 1e-4, clipCoefficient(read.scaledNorm, 1));
  tf.dispose([...acc.values()]);
  await optim.m.get('wte')!.data(); // wait for the update, as the next step's read would
  return read.losses[0]!;
}

/** Runs in the child: one backend, a warm-up step, then `steps` timed steps. */
export async function measureDevice(backend: 'webgpu' | 'wasm', which: BenchModel, steps: number): Promise<DeviceBenchResult> {
  const selected = await selectBackend(backend);
  const dispatched = backend === 'webgpu' ? countDispatches() : () => NaN;
  const shape = SHAPES[which];
  const cfg = modelSchema.parse({ name: which, ...shape.model });
  const model = new GPT(cfg, 1113, denseFactory());
  const optim = new AdamW(model.params(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  const a = selected.adapter;
  const adapter = a ? `${a.vendor} ${a.device} [${a.description}]` : null;
  console.log(`[${selected.matmul}] ${shape.label}: ${model.paramCounts().total} params; backend ${selected.backend}${adapter ? ` on ${adapter}` : ''}`);
  try {
    let t0 = performance.now();
    await trainStep(model, optim, cfg, shape.batch, 0);
    console.log(`[${selected.matmul}] warm-up step (kernel compilation): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const before = dispatched();
    t0 = performance.now();
    for (let s = 1; s <= steps; s++) await trainStep(model, optim, cfg, shape.batch, s);
    const stepMs = (performance.now() - t0) / steps;
    const tokens = shape.batch * cfg.context;
    const result: DeviceBenchResult = {
      backend: selected.backend,
      path: selected.matmul,
      adapter,
      tokensPerS: tokens / (stepMs / 1000),
      stepMs,
      tflops: (model.flopsPerToken() * tokens) / (stepMs / 1000) / 1e12,
      dispatches: backend === 'webgpu' ? (dispatched() - before) / steps : null,
    };
    console.log(`[${selected.matmul}] ${steps} step(s): ${stepMs.toFixed(0)} ms/step, ${result.tokensPerS.toFixed(0)} tokens/s, ${result.tflops.toFixed(4)} TFLOP/s${result.dispatches !== null ? `, ${result.dispatches.toFixed(0)} dispatches/step` : ''}`);
    return result;
  } finally {
    model.dispose();
    optim.dispose();
  }
}

function runChild(backend: 'webgpu' | 'wasm', which: BenchModel, steps: number): Promise<DeviceBenchResult> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, backend, which, String(steps)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let result: DeviceBenchResult | null = null;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(TAG)) result = JSON.parse(line.slice(TAG.length)) as DeviceBenchResult;
      else console.log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 && result ? resolve(result) : reject(new UserError(`bench on ${backend} did not finish (exit code ${code}); see the lines above`))));
  });
}

/** npm run bench -- --backend webgpu: WebGPU and this machine's CPU path, one after the other, and their ratio. */
export async function benchDevice(which: BenchModel, steps: number, withCpu: boolean): Promise<void> {
  const gpu = await runChild('webgpu', which, steps);
  const cpu = withCpu ? await runChild('wasm', which, steps) : null;
  const fmt = (r: DeviceBenchResult | null, f: (r: DeviceBenchResult) => string) => (r ? f(r) : '-').padStart(14);
  console.log('');
  console.log(`${which} shape, ${steps} timed step(s) each, the trainer's step (device micro-batch, one read-back, AdamW):`);
  console.log(`  ${''.padEnd(18)} ${'webgpu'.padStart(14)} ${(cpu ? cpu.path : 'cpu path').padStart(14)} ${'webgpu/cpu'.padStart(12)}`);
  console.log(`  ${'tokens/s'.padEnd(18)} ${fmt(gpu, (r) => r.tokensPerS.toFixed(0))} ${fmt(cpu, (r) => r.tokensPerS.toFixed(0))} ${(cpu ? `${(gpu.tokensPerS / cpu.tokensPerS).toFixed(2)}x` : '-').padStart(12)}`);
  console.log(`  ${'TFLOP/s'.padEnd(18)} ${fmt(gpu, (r) => r.tflops.toFixed(4))} ${fmt(cpu, (r) => r.tflops.toFixed(4))}`);
  console.log(`  ${'ms/step'.padEnd(18)} ${fmt(gpu, (r) => r.stepMs.toFixed(0))} ${fmt(cpu, (r) => r.stepMs.toFixed(0))}`);
  console.log(`  ${'dispatches/step'.padEnd(18)} ${fmt(gpu, (r) => String(Math.round(r.dispatches ?? NaN)))} ${fmt(null, () => '')}`);
  console.log(`  adapter: ${gpu.adapter}`);
}

// As a child: node --import tsx scripts/bench-device.ts <webgpu|wasm> <bench|gpt2> <steps>
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [backend, which, steps] = process.argv.slice(2) as ['webgpu' | 'wasm', BenchModel, string];
  const result = await measureDevice(backend, which, Number(steps));
  process.stdout.write(`${TAG}${JSON.stringify(result)}\n`, () => process.exit(0));
}
