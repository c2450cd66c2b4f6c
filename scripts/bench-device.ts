// npm run bench -- --backend webgpu [--model bench|gpt2|tiny] [--steps N] [--profile]
// The trainer's own step (device micro-batch, one read-back per step, AdamW) on WebGPU, next to
// the best CPU path of this machine (wasm with OpenBLAS when the addon is built) measured in the
// same invocation: tokens/s, model TFLOP/s, and on WebGPU the compute dispatches per step,
// counted at GPUComputePassEncoder.dispatchWorkgroups (every kernel tfjs runs is one dispatch).
// Each backend runs in a child process of its own: the ops pick their formulation by the
// backend at start-up. --profile then profiles one more WebGPU step kernel by kernel
// (bench-lib/gpu-profile.ts: GPU timestamp queries where the device has them, and dispatches).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { modelSchema, type ModelConfig } from '../harness/contract/config.ts';
import { UserError } from '../harness/contract/errors.ts';
import { selectBackend } from '../harness/train/backend/select.ts';
import { denseFactory } from '../harness/train/model/linears.ts';
import { makeDeviceStepper, timeDeviceSteps } from './bench-lib/device-step.ts';
import { countDispatches, formatGpuProfile, profileGpuStep, type GpuStepProfile } from './bench-lib/gpu-profile.ts';
import { BENCH_SHAPES, type BenchModel } from './bench-lib/shapes.ts';

export interface DeviceBenchResult {
  backend: string;
  path: string;
  adapter: string | null;
  tokensPerS: number;
  stepMs: number;
  tflops: number;
  /** Compute dispatches per step (webgpu only). */
  dispatches: number | null;
  /** One profiled step (webgpu with --profile). */
  profile?: GpuStepProfile;
}

const TAG = 'DEVICE_BENCH ';

/**
 * A tensor larger than the adapter's storage-buffer binding limit fails validation kernel after
 * kernel (Dawn prints the errors and the step computes nothing): say so before starting. The
 * largest are the token embedding, the logits and the attention scores.
 */
function checkBindingLimit(which: BenchModel, cfg: ModelConfig, batch: number): void {
  const limit = (tf.backend() as { device?: { limits?: { maxStorageBufferBindingSize?: number } } }).device?.limits?.maxStorageBufferBindingSize;
  const bytes = 4 * Math.max(cfg.vocabSize * cfg.nEmbd, batch * cfg.context * cfg.vocabSize, batch * cfg.nHead * cfg.context * cfg.context);
  if (limit !== undefined && bytes > limit) {
    throw new UserError(`--model ${which}: its largest tensor (${(bytes / 2 ** 20).toFixed(0)} MiB) exceeds this adapter's storage-buffer binding limit (${(limit / 2 ** 20).toFixed(0)} MiB); run it on a GPU (a software driver such as lavapipe allows 128 MiB)`);
  }
}

/** Runs in the child: one backend, a warm-up step, then `steps` timed steps. */
export async function measureDevice(backend: 'webgpu' | 'wasm', which: BenchModel, steps: number, profile = false): Promise<DeviceBenchResult> {
  const selected = await selectBackend(backend);
  const dispatched = backend === 'webgpu' ? countDispatches() : () => NaN;
  const shape = BENCH_SHAPES[which];
  const cfg = modelSchema.parse({ name: which, ...shape.model });
  if (backend === 'webgpu') checkBindingLimit(which, cfg, shape.batch);
  const stepper = makeDeviceStepper(cfg, shape.batch, denseFactory());
  const { model, tokens } = stepper;
  const a = selected.adapter;
  const adapter = a ? `${a.vendor} ${a.device} [${a.description}]` : null;
  console.log(`[${selected.matmul}] ${shape.label}: ${model.paramCounts().total} params; backend ${selected.backend}${adapter ? ` on ${adapter}` : ''}`);
  try {
    const warmMs = await stepper.step();
    console.log(`[${selected.matmul}] warm-up step (kernel compilation): ${(warmMs / 1000).toFixed(1)} s`);
    const timed = await timeDeviceSteps(stepper.step, steps, dispatched);
    const stepMs = timed.ms;
    const result: DeviceBenchResult = {
      backend: selected.backend,
      path: selected.matmul,
      adapter,
      tokensPerS: tokens / (stepMs / 1000),
      stepMs,
      tflops: (model.flopsPerToken() * tokens) / (stepMs / 1000) / 1e12,
      dispatches: backend === 'webgpu' ? timed.dispatches : null,
    };
    console.log(`[${selected.matmul}] ${steps} step(s): ${stepMs.toFixed(0)} ms/step, ${result.tokensPerS.toFixed(0)} tokens/s, ${result.tflops.toFixed(4)} TFLOP/s${result.dispatches !== null ? `, ${result.dispatches.toFixed(0)} dispatches/step` : ''}`);
    if (profile && backend === 'webgpu') {
      result.profile = await profileGpuStep(stepper.step);
      for (const line of formatGpuProfile(result.profile)) console.log(`[${selected.matmul}] ${line}`);
    }
    return result;
  } finally {
    stepper.dispose();
  }
}

function runChild(backend: 'webgpu' | 'wasm', which: BenchModel, steps: number, profile = false): Promise<DeviceBenchResult> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, backend, which, String(steps), ...(profile ? ['--profile'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
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
export async function benchDevice(which: BenchModel, steps: number, withCpu: boolean, profile = false): Promise<void> {
  const gpu = await runChild('webgpu', which, steps, profile);
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

// As a child: node --import tsx scripts/bench-device.ts <webgpu|wasm> <bench|gpt2|tiny> <steps> [--profile]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [backend, which, steps, profile] = process.argv.slice(2) as ['webgpu' | 'wasm', BenchModel, string, string | undefined];
  try {
    const result = await measureDevice(backend, which, Number(steps), profile === '--profile');
    process.stdout.write(`${TAG}${JSON.stringify(result)}\n`, () => process.exit(0));
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    process.stderr.write(`error: ${err.message}\n`, () => process.exit(2)); // Dawn's handles would keep the process alive
  }
}
