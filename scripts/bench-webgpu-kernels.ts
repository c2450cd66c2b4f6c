// npx tsx scripts/bench-webgpu-kernels.ts [--steps N] [--shape bench|tiny] [--model dense|inrank|both]
// Dispatches per training step on the webgpu backend with the generic tfjs kernels and with the
// WGSL kernels of harness/train/backend/webgpu-kernels, both in this run, with each kernel's calls,
// dispatches and time (bench-lib/gpu-profile.ts: GPU timestamp queries where the device has
// them). For the InRank model (stage 1 between determinations: every MLP linear low-rank with
// 2 modes plus a buffer of 26% of max_rank active, the paper's 100 of 384) also with every WGSL
// kernel except the low-rank layer's (the state before those), so their own effect shows. The
// WGSL runs go three ways for the attention: the transposing path (WGSL softmax only), the head
// kernels (strided per-head products), flash (no T x T). On a software adapter (lavapipe) the times are CPU times of the emulation, not GPU figures; the
// dispatch counts are the point there.
import * as tf from '@tensorflow/tfjs-core';
import { maxRankOf, modelSchema, type ModelConfig } from '../harness/contract/config.ts';
import { UserError } from '../harness/contract/errors.ts';
import { parseCliArgs, positiveIntOption, runCli } from '../harness/cli/common.ts';
import { selectBackend } from '../harness/train/backend/select.ts';
import { registerWebgpuKernels, unregisterWebgpuKernels } from '../harness/train/backend/webgpu-kernels/index.ts';
import { denseFactory } from '../harness/train/model/linears.ts';
import type { LinearFactory } from '../harness/train/model/linear.ts';
import { LowRankLinear } from '../harness/train/inrank/lowrank-linear.ts';
import { FlashKernel, FusedKernel, HeadKernel } from '../harness/train/ops/fused.ts';
import { streamKey, stringId } from '../harness/train/ops/random.ts';
import { makeDeviceStepper } from './bench-lib/device-step.ts';
import { BENCH_SHAPES } from './bench-lib/shapes.ts';
import { countDispatches, formatGpuProfile, profileGpuStep, type GpuStepProfile } from './bench-lib/gpu-profile.ts';


/** Stage 1 of InRank between determinations: 2 modes plus a buffer of 26% of max_rank active, the rest of the factors idle. */
function inrankStage1(): LinearFactory {
  return (spec) => {
    const maxRank = maxRankOf(spec.inFeatures, spec.outFeatures);
    return new LowRankLinear({
      inFeatures: spec.inFeatures, outFeatures: spec.outFeatures, maxRank, initModes: 2, bufferModes: Math.round((100 / 384) * maxRank),
      determineRank: false, explainedRatio: 0.9, warmupIter: 0, gapIter: 1, microBatchesPerTick: 1, initScale: 1,
      seed: streamKey(spec.seed, stringId(spec.layerName)),
    });
  };
}

interface Measured { dispatches: number; ms: number; profile: GpuStepProfile }

async function measure(cfg: ModelConfig, batch: number, steps: number, linears: LinearFactory): Promise<Measured> {
  const read = countDispatches();
  const stepper = makeDeviceStepper(cfg, batch, linears);
  try {
    await stepper.step(); // warm-up: pipelines compile
    const before = read();
    let ms = Infinity;
    for (let s = 0; s < steps; s++) ms = Math.min(ms, await stepper.step());
    const dispatches = (read() - before) / steps;
    return { dispatches, ms, profile: await profileGpuStep(() => stepper.step()) };
  } finally {
    stepper.dispose();
  }
}

/** The attention variants of the WGSL runs: which kernels each leaves out of the registration. */
const ATTENTION: Record<string, string[]> = {
  'transposing attention': [...Object.values(HeadKernel), FlashKernel.forward, FlashKernel.backward],
  'head kernels': [FlashKernel.forward, FlashKernel.backward],
  flash: [],
};

/** Registers every WGSL kernel less `leftOut`. */
function registerAllBut(leftOut: string[]): void {
  unregisterWebgpuKernels();
  const status = registerWebgpuKernels();
  if (!status.enabled) throw new UserError(`${status.reason}: nothing to compare`);
  for (const name of leftOut) if (tf.getKernel(name, 'webgpu')) tf.unregisterKernel(name, 'webgpu');
}

/** Which attention path ran, from the kernels of the profiled step. */
function attentionPath(m: Measured): string {
  const ran = new Set(m.profile.kernels.map((k) => k.name));
  if (ran.has(FlashKernel.forward)) return 'flash';
  if (ran.has(HeadKernel.scores)) return 'head kernels';
  return 'transposing';
}

function printRun(label: string, m: Measured): void {
  console.log(`${label} [ran: ${attentionPath(m)} attention]: ${m.dispatches.toFixed(0)} dispatches per step, best step ${m.ms.toFixed(0)} ms`);
  for (const line of formatGpuProfile(m.profile, 12)) console.log(`  ${line}`);
}

/** The runs of one model: generic kernels, (InRank) all but the low-rank ones, then each attention variant; prints the counts. */
async function compareModel(model: 'dense' | 'inrank', cfg: ModelConfig, batch: number, steps: number): Promise<void> {
  const linears = model === 'dense' ? denseFactory() : inrankStage1();
  unregisterWebgpuKernels();
  const runs: [string, Measured][] = [['generic tfjs kernels', await measure(cfg, batch, steps, linears)]];
  if (model === 'inrank') {
    registerAllBut([FusedKernel.lowRank, FusedKernel.lowRankGrad]);
    runs.push(['WGSL kernels without the low-rank ones', await measure(cfg, batch, steps, linears)]);
  }
  for (const [variant, leftOut] of Object.entries(ATTENTION)) {
    registerAllBut(leftOut);
    runs.push([`WGSL kernels, ${variant}`, await measure(cfg, batch, steps, linears)]);
  }
  registerWebgpuKernels();
  console.log(`\n== ${model === 'dense' ? 'dense (full rank)' : 'InRank stage 1 (2 + buffer modes of max_rank active)'} ==`);
  for (const [label, m] of runs) printRun(label, m);
  console.log(`${model} dispatches per step: ${runs.map(([label, m]) => `${label} ${m.dispatches.toFixed(0)}`).join(' -> ')}`);
}

async function main(argv: string[]): Promise<number> {
  const { values: v } = parseCliArgs(argv, {
    steps: { type: 'string' }, shape: { type: 'string', default: 'bench' }, model: { type: 'string', default: 'both' },
    help: { type: 'boolean', short: 'h', default: false },
  } as const, 'npx tsx scripts/bench-webgpu-kernels.ts --help');
  if (v.help) {
    console.log('usage: npx tsx scripts/bench-webgpu-kernels.ts [--steps N] [--shape bench|tiny] [--model dense|inrank|both]');
    return 0;
  }
  const shape = v.shape === 'bench' || v.shape === 'tiny' ? BENCH_SHAPES[v.shape] : null;
  if (!shape) throw new UserError(`--shape ${v.shape}: expected bench or tiny`);
  if (!['dense', 'inrank', 'both'].includes(v.model)) throw new UserError(`--model ${v.model}: expected dense, inrank or both`);
  const steps = positiveIntOption(v.steps, '--steps') ?? 2;
  const selected = await selectBackend('webgpu');
  const cfg = modelSchema.parse({ name: v.shape, ...shape.model });
  console.log(`webgpu adapter ${selected.note}; model n_embd ${cfg.nEmbd}, ${cfg.nLayer} layers, context ${cfg.context}, batch ${shape.batch}, vocab ${cfg.vocabSize}, fp32`);
  for (const model of v.model === 'both' ? (['dense', 'inrank'] as const) : [v.model as 'dense' | 'inrank']) {
    await compareModel(model, cfg, shape.batch, steps);
  }
  return 0;
}

runCli(main);
