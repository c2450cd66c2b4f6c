// The device kit's measuring entry point (bundled by scripts/device-kit/build.sh, run by
// gpu-figures.sh on a lent GPU): the trainer's device step on WebGPU at a bench shape, in fp32 or
// fp16 (native half where the adapter offers shader-f16, with dynamic loss scaling as the trainer),
// then optionally the PyTorch peer on CUDA in the same run, and the ratio. One process per figure,
// so a crash or a timeout loses one figure only.
//   node figures.mjs step --model gpt2|bench|tiny [--fp16] [--steps N] [--peer] [--profile] [--lm-head both]
// --peer: scripts/bench-peer.py on cuda (fp32 with TF32 off; --fp16: autocast), same shape.
// --profile: one more step kernel by kernel (GPU timestamp queries where offered).
// --lm-head both: alternate materialised and fused (INRANK_LM_HEAD) rounds on one model.
// Prints `FIGURE {json}` lines that gpu-figures.sh collects into its summary.
import { parseArgs } from 'node:util';
import { UserError } from '../../harness/contract/errors.ts';
import { selectBackend } from '../../harness/train/backend/select.ts';
import { formatGpuProfile, profileGpuStep } from '../bench-lib/gpu-profile.ts';
import { timeDeviceSteps } from '../bench-lib/device-step.ts';
import { BENCH_SHAPES, peerShapeOf, type BenchModel } from '../bench-lib/shapes.ts';
import { makeKitStepper, type KitStepper } from './kit-step.ts';
import { cudaPeerUnavailable, runCudaPeer } from './cuda-peer.ts';

interface Opts {
  model: BenchModel;
  fp16: boolean;
  steps: number;
  peer: boolean;
  profile: boolean;
  lmHead: 'materialised' | 'both';
}

function parse(argv: string[]): Opts {
  const { values: v, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      model: { type: 'string', default: 'gpt2' }, fp16: { type: 'boolean', default: false },
      steps: { type: 'string', default: '3' }, peer: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false }, 'lm-head': { type: 'string', default: 'materialised' },
    },
  });
  if (positionals[0] !== 'step') throw new UserError('usage: figures.mjs step --model gpt2|bench|tiny [--fp16] [--steps N] [--peer] [--profile] [--lm-head both]');
  if (!(v.model in BENCH_SHAPES)) throw new UserError(`--model ${v.model}: expected ${Object.keys(BENCH_SHAPES).join(', ')}`);
  if (v['lm-head'] !== 'materialised' && v['lm-head'] !== 'both') throw new UserError(`--lm-head ${v['lm-head']}: expected materialised or both`);
  return { model: v.model as BenchModel, fp16: v.fp16, steps: Math.max(1, Number(v.steps) || 1), peer: v.peer, profile: v.profile, lmHead: v['lm-head'] };
}

const figure = (o: Record<string, unknown>) => console.log(`FIGURE ${JSON.stringify(o)}`);

/** Mean ms and dispatches per step over `steps` steps. */
const timeSteps = (s: KitStepper, steps: number) => timeDeviceSteps(s.step, steps, s.dispatches);

/** The fused and the materialised LM head on one model, rounds alternating (the env var is read per step). */
async function compareLmHeads(s: KitStepper, steps: number, label: string): Promise<void> {
  const best = { materialised: Infinity, fused: Infinity };
  for (let round = 0; round < 2; round++) {
    for (const mode of ['materialised', 'fused'] as const) {
      process.env.INRANK_LM_HEAD = mode;
      if (round === 0) await s.step(); // the fused head's pipelines compile on its first step
      const t = await timeSteps(s, steps);
      console.log(`${label} round ${round + 1}, LM head ${mode}: ${t.ms.toFixed(0)} ms/step, ${t.dispatches.toFixed(0)} dispatches/step`);
      best[mode] = Math.min(best[mode], t.ms);
    }
  }
  console.log(`${label} LM head: materialised ${best.materialised.toFixed(0)} ms/step, fused ${best.fused.toFixed(0)} ms/step, fused/materialised ${(best.fused / best.materialised).toFixed(3)}`);
  figure({ figure: 'lm-head', model: label, materialisedMs: best.materialised, fusedMs: best.fused, ratio: best.fused / best.materialised });
}

async function main(argv: string[]): Promise<void> {
  const o = parse(argv);
  const selected = await selectBackend('webgpu');
  const a = selected.adapter;
  const s = makeKitStepper(o.model, o.fp16);
  const label = `[webgpu ${o.model} ${o.fp16 ? `fp16 ${s.fp16Path}` : 'fp32'}]`;
  console.log(`${label} ${s.label}: ${s.params} params; adapter ${a ? `${a.vendor} ${a.device} [${a.description}]` : 'none'}${selected.note ? ` (${selected.note})` : ''}`);
  try {
    let t0 = performance.now();
    await s.step();
    console.log(`${label} warm-up step (pipeline compilation): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (o.lmHead === 'both') return await compareLmHeads(s, o.steps, label);
    t0 = performance.now();
    const t = await timeSteps(s, o.steps);
    const tokensPerS = s.tokens / (t.ms / 1000);
    const tflops = (s.flopsPerToken * s.tokens) / (t.ms / 1000) / 1e12;
    console.log(`${label} ${o.steps} step(s): ${t.ms.toFixed(0)} ms/step, ${tokensPerS.toFixed(0)} tokens/s, ${tflops.toFixed(3)} TFLOP/s, ${t.dispatches.toFixed(0)} dispatches/step; loss scale ${s.lossScale()}`);
    const ours = { figure: 'step', model: o.model, precision: o.fp16 ? `fp16-${s.fp16Path}` : 'fp32', msPerStep: t.ms, tokensPerS, tflops, dispatches: t.dispatches, adapter: a?.description ?? null };
    figure(ours);
    if (o.peer) peerFigure(o, tokensPerS);
    if (o.profile) {
      const p = await profileGpuStep(() => s.step());
      for (const line of formatGpuProfile(p, 20)) console.log(`${label} ${line}`);
      figure({ figure: 'profile', model: o.model, timing: p.timing, wallMs: p.wallMs, dispatches: p.dispatches, top: [...p.kernels].sort((x, y) => y.ms - x.ms).slice(0, 8).map((k) => `${k.name} ${k.ms.toFixed(1)}ms x${k.calls}`) });
    }
  } finally {
    s.dispose();
  }
}

/** The PyTorch peer on CUDA, same shape and dtype, after ours (one GPU, one at a time). */
function peerFigure(o: Opts, oursTokensPerS: number): void {
  const why = cudaPeerUnavailable();
  if (why !== null) {
    console.log(`PyTorch peer skipped: ${why}`);
    figure({ figure: 'peer', model: o.model, skipped: why });
    return;
  }
  const peer = runCudaPeer(peerShapeOf(BENCH_SHAPES[o.model]), o.fp16, Math.max(3, o.steps));
  const ratio = oursTokensPerS / peer.tokensPerS;
  console.log(`PyTorch ${peer.torch} on ${peer.device}, ${peer.dtype}: ${peer.stepMs.toFixed(1)} ms/step, ${peer.tokensPerS.toFixed(0)} tokens/s; ours/PyTorch ${ratio.toFixed(3)}x (target ${o.fp16 ? '>= 0.5x autocast' : '>= 0.3x fp32, TF32 off'})`);
  figure({ figure: 'peer', model: o.model, precision: o.fp16 ? 'fp16' : 'fp32', peerTokensPerS: peer.tokensPerS, peerMs: peer.stepMs, torch: peer.torch, ratio });
}

main(process.argv.slice(2)).then(
  () => process.exit(0), // Dawn's handles would keep the process alive
  (err: unknown) => {
    console.error(err instanceof UserError ? `error: ${err.message}` : err);
    process.exit(err instanceof UserError ? 2 : 1);
  },
);
