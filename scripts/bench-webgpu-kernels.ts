// npx tsx scripts/bench-webgpu-kernels.ts [--steps N] [--shape bench|tiny]
// Dispatches per training step on the webgpu backend with the generic tfjs kernels and with the
// WGSL kernels of harness/train/backend/webgpu-kernels, all in this run, with the kernels that
// changed and each kernel's time as tf.profile reports it (GPU timestamp queries where the
// adapter offers them). The WGSL runs go three ways for the attention: the transposing path
// (WGSL softmax only), the head kernels (strided per-head products), flash (no T x T). On a software adapter (lavapipe) the times are CPU times of the
// emulation, not GPU figures; the dispatch counts are the point there.
import * as tf from '@tensorflow/tfjs-core';
import { modelSchema, type ModelConfig } from '../harness/contract/config.ts';
import { UserError } from '../harness/contract/errors.ts';
import { parseCliArgs, positiveIntOption, runCli } from '../harness/cli/common.ts';
import { setMatmulPath } from '../harness/train/backend/select.ts';
import { registerWebgpuKernels, unregisterWebgpuKernels } from '../harness/train/backend/webgpu-kernels/index.ts';
import { GPT } from '../harness/train/model/gpt.ts';
import { denseFactory } from '../harness/train/model/linears.ts';
import { AdamW, clipCoefficient } from '../harness/train/optim/adamw.ts';
import { fp32 } from '../harness/train/precision/index.ts';
import { FlashKernel, HeadKernel } from '../harness/train/ops/fused.ts';
import { streamKey, uniformAt } from '../harness/train/ops/random.ts';
import { FusedKernel, hasFused } from '../harness/train/ops/fused.ts';
import { withMaxStorageBuffers } from '../harness/train/backend/webgpu-limits.ts';

const SHAPES: Record<string, { cfg: Partial<ModelConfig>; batch: number }> = {
  bench: { cfg: { nEmbd: 256, nHead: 4, nLayer: 4, context: 128, vocabSize: 4096 }, batch: 8 },
  tiny: { cfg: { nEmbd: 64, nHead: 2, nLayer: 2, context: 32, vocabSize: 512 }, batch: 2 },
};

/** Starts Dawn and the webgpu backend; returns the adapter's name. */
async function startWebgpu(): Promise<string> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = withMaxStorageBuffers(create([])); // the trainer's device limits (harness/train/backend/webgpu.ts)
  (globalThis as unknown as { navigator: unknown }).navigator = { gpu };
  const adapter = await gpu.requestAdapter();
  if (adapter === null) throw new UserError('Dawn found no WebGPU adapter; install a Vulkan driver (lavapipe: mesa-vulkan-drivers)');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new UserError('the webgpu backend did not start');
  await tf.ready();
  // The products take their native formulation (transpose flags, batched heads), as on any device backend.
  setMatmulPath('tensorflow');
  const info = (adapter as unknown as { info?: { device?: string; description?: string } }).info;
  return `${info?.device ?? '?'} (${info?.description ?? ''})`;
}

/** Counts compute dispatches by wrapping the encoder's dispatch method (Dawn's global class). */
function dispatchCounter(): { read(): number } {
  const proto = (globalThis as unknown as { GPUComputePassEncoder: { prototype: Record<string, (...a: unknown[]) => unknown> } }).GPUComputePassEncoder.prototype;
  let count = 0;
  for (const name of ['dispatchWorkgroups', 'dispatchWorkgroupsIndirect']) {
    const original = proto[name]!;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      count++;
      return original.apply(this, args);
    };
  }
  return { read: () => count };
}

/** The sum of many scalars in addN groups of at most 6 (an adapter may bind only 8 storage buffers per shader). */
function sumAll(xs: tf.Tensor[]): tf.Tensor {
  let level = xs;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += 6) {
      const group = level.slice(i, i + 6);
      next.push(group.length === 1 ? group[0]! : tf.addN(group));
    }
    level = next;
  }
  return level[0]!;
}

/** One optimizer step with asynchronous reads only; returns its wall time. */
async function step(model: GPT, optim: AdamW, ids: Int32Array, targets: Int32Array, batch: number): Promise<number> {
  const t0 = performance.now();
  const grads = new Map<string, tf.Tensor>();
  tf.tidy(() => {
    const f = model.forward(ids, targets, batch, { training: true, dropout: { p: 0.1, seed: 1, step: 0, micro: 0 }, precision: fp32 });
    for (const [name, g] of f.backward(1)) grads.set(name, tf.keep(g));
  });
  const sq = hasFused(FusedKernel.sumSquares) ? AdamW.globalNormSquared(grads) : tf.tidy(() => sumAll([...grads.values()].map((g) => tf.sum(tf.square(g)))));
  const norm = Math.sqrt((await sq.data())[0]!);
  sq.dispose();
  optim.step(grads, 1e-4, clipCoefficient(norm, 1));
  tf.dispose([...grads.values()]);
  await optim.m.get('wte')!.data();
  return performance.now() - t0;
}

interface Measured { dispatches: number; ms: number; kernels: Map<string, { calls: number; ms: number }> }

async function measure(cfg: ModelConfig, batch: number, steps: number, counter: { read(): number }): Promise<Measured> {
  const model = new GPT(cfg, 1113, denseFactory());
  const optim = new AdamW(model.params(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  const n = batch * cfg.context;
  const ids = Int32Array.from({ length: n + 1 }, (_, i) => Math.floor(uniformAt(streamKey(7, 0), i) * cfg.vocabSize));
  const [x, y] = [ids.subarray(0, n), ids.subarray(1)];
  await step(model, optim, x, y, batch); // warm-up: pipelines compile
  const before = counter.read();
  let ms = Infinity;
  for (let s = 0; s < steps; s++) ms = Math.min(ms, await step(model, optim, x, y, batch));
  const dispatches = (counter.read() - before) / steps;
  const kernels = new Map<string, { calls: number; ms: number }>();
  let pending: Promise<number> = Promise.resolve(0);
  const info = await tf.profile(async () => {
    pending = step(model, optim, x, y, batch);
    await pending;
  });
  for (const k of info.kernels) {
    const e = kernels.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += Number(await k.kernelTimeMs);
    kernels.set(k.name, e);
  }
  optim.dispose();
  model.dispose();
  return { dispatches, ms, kernels };
}

/** The attention variants of the WGSL runs: which kernels each leaves out of the registration. */
const ATTENTION: Record<string, string[]> = {
  'transposing attention': [...Object.values(HeadKernel), FlashKernel.forward, FlashKernel.backward],
  'head kernels': [FlashKernel.forward, FlashKernel.backward],
  flash: [],
};

/** Registers the WGSL kernels less the variant's left-out ones; returns the registration's note. */
function useAttention(variant: string): string {
  unregisterWebgpuKernels();
  const status = registerWebgpuKernels();
  for (const name of ATTENTION[variant]!) if (tf.getKernel(name, 'webgpu')) tf.unregisterKernel(name, 'webgpu');
  return status.enabled ? `WGSL kernels, attention: ${variant}` : status.reason;
}

/** Which attention path ran, from the kernels of the profiled step. */
function attentionPath(m: Measured): string {
  if (m.kernels.has(FlashKernel.forward)) return 'flash';
  if (m.kernels.has(HeadKernel.scores)) return 'head kernels';
  return 'transposing';
}

function printRun(label: string, m: Measured): void {
  const total = [...m.kernels.values()].reduce((s, e) => s + e.ms, 0);
  console.log(`${label} [ran: ${attentionPath(m)} attention]: ${m.dispatches.toFixed(0)} dispatches per step, ${[...m.kernels.values()].reduce((s, e) => s + e.calls, 0)} kernels, best step ${m.ms.toFixed(0)} ms`);
  for (const [name, e] of [...m.kernels].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)) {
    console.log(`  ${name.padEnd(24)} ${String(e.calls).padStart(5)} calls ${e.ms.toFixed(1).padStart(9)} ms ${total > 0 ? `${((100 * e.ms) / total).toFixed(1)}%` : ''}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { values: v } = parseCliArgs(argv, {
    steps: { type: 'string' }, shape: { type: 'string', default: 'bench' }, help: { type: 'boolean', short: 'h', default: false },
  } as const, 'npx tsx scripts/bench-webgpu-kernels.ts --help');
  if (v.help) {
    console.log('usage: npx tsx scripts/bench-webgpu-kernels.ts [--steps N] [--shape bench|tiny]');
    return 0;
  }
  const shape = SHAPES[v.shape];
  if (!shape) throw new UserError(`--shape ${v.shape}: expected bench or tiny`);
  const steps = positiveIntOption(v.steps, '--steps') ?? 2;
  const adapter = await startWebgpu();
  const counter = dispatchCounter();
  const cfg = modelSchema.parse({ name: v.shape, ...shape.cfg });
  console.log(`webgpu adapter ${adapter}; model n_embd ${cfg.nEmbd}, ${cfg.nLayer} layers, context ${cfg.context}, batch ${shape.batch}, vocab ${cfg.vocabSize}, fp32`);
  unregisterWebgpuKernels();
  const generic = await measure(cfg, shape.batch, steps, counter);
  printRun('generic tfjs kernels', generic);
  for (const variant of Object.keys(ATTENTION)) {
    const label = useAttention(variant);
    const fused = await measure(cfg, shape.batch, steps, counter);
    printRun(label, fused);
    console.log(`dispatches per step: ${generic.dispatches.toFixed(0)} -> ${fused.dispatches.toFixed(0)} (${(generic.dispatches / fused.dispatches).toFixed(2)}x fewer)`);
  }
  return 0;
}

runCli(main);
