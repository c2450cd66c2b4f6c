// npm run bench [-- --path both|wasm|openblas] [--backend wasm|cpu|tensorflow|auto] [--steps N]
//                  [--repeats R] [--threads T] [--fp16] [--profile] [--peer]
// npm run bench -- --backend webgpu [--model bench|gpt2|tiny] [--steps N] [--skip-cpu] [--profile]: see bench-device.ts
// Trains the fixed bench configuration (n_embd 256, 4 layers, 4 heads, context 128, micro-batch
// 8, vocab 4096) for a few steps and prints tokens/s and GFLOP/s of the whole step and of its
// parts, next to a plain 2-D matMul of the same path measured in the same run (the ceiling).
// By default it measures both matmul paths of the wasm backend, the wasm kernels and the
// OpenBLAS addon, one after the other in the same invocation, and prints openblas / wasm: the
// machine is shared, so the ratio is the figure to compare. Each path runs in its own child
// process because the ops pick their formulation by the path at start-up (select.ts), so
// switching kernels inside one process would not measure what the trainer runs.
// --peer: instead trains the same shape in PyTorch (scripts/bench-peer.py) at the same thread
// count, in rounds alternating with the trainer's (openblas path unless --path wasm), and prints
// both tokens/s and the ratio, when `python3 -c 'import torch'` works (INRANK_PEER_PYTHON names
// another Python).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { backendNames, modelSchema, type BackendName } from '../harness/contract/config.ts';
import { UserError } from '../harness/contract/errors.ts';
import { parseCliArgs, positiveIntOption, runCli } from '../harness/cli/common.ts';
import { selectBackend, type SelectedBackend } from '../harness/train/backend/select.ts';
import { blasThreads, loadBlasAddon, NATIVE_MATMUL_ENV } from '../harness/train/backend/blas.ts';
import { denseFactory } from '../harness/train/model/linears.ts';
import { benchDevice } from './bench-device.ts';
import { BENCH_SHAPES, peerShapeOf, type BenchModel } from './bench-lib/shapes.ts';
import { comparePeerInterleaved } from './bench-lib/peer-compare.ts';
import { makeStepper, timeSteps, type Stepper, type StepTimes } from './bench-lib/train-step.ts';

type PathChoice = 'both' | 'wasm' | 'openblas';

interface Args {
  backend: BackendName | null;
  path: PathChoice;
  steps: number;
  repeats: number;
  threads: number | null;
  fp16: boolean;
  profile: boolean;
  model: BenchModel;
  skipCpu: boolean;
  peer: boolean;
}

/** The figures one path reports to the parent (one JSON line after RESULT_TAG). */
interface PathResult {
  path: string;
  threads: number | null;
  tokensPerS: number;
  stepMs: number;
  stepGf: number;
  forwardGf: number;
  backwardGf: number;
  optimizerMs: number;
  ceilingGf: number;
}


const RESULT_TAG = 'BENCH_RESULT ';
const USAGE = `usage: npm run bench -- [--path both|wasm|openblas] [--backend auto|wasm|cpu|tensorflow|tensorflow-gpu] [--steps N] [--repeats R] [--threads T] [--fp16] [--profile] [--peer]
       npm run bench -- --backend webgpu [--model bench|gpt2|tiny] [--steps N] [--skip-cpu] [--profile]
         WebGPU next to this machine's CPU path (skipped with --skip-cpu): tokens/s, TFLOP/s, dispatches per step;
         --profile: one more WebGPU step kernel by kernel (GPU timestamp queries where offered, dispatches)`;

function parseBenchArgs(argv: string[]): Args | null {
  const { values: v } = parseCliArgs(argv, {
    path: { type: 'string', default: 'both' },
    backend: { type: 'string' },
    steps: { type: 'string' },
    repeats: { type: 'string' },
    threads: { type: 'string' },
    fp16: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    model: { type: 'string', default: 'bench' },
    'skip-cpu': { type: 'boolean', default: false },
    peer: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  } as const, 'npm run bench -- --help');
  if (v.help) return null;
  if (v.backend !== undefined && !(backendNames as readonly string[]).includes(v.backend)) {
    throw new UserError(`--backend ${v.backend}: expected one of ${backendNames.join(', ')}`);
  }
  if (v.path !== 'both' && v.path !== 'wasm' && v.path !== 'openblas') throw new UserError(`--path ${v.path}: expected both, wasm or openblas`);
  const args: Args = {
    backend: (v.backend as BackendName | undefined) ?? null,
    path: v.path,
    steps: positiveIntOption(v.steps, '--steps') ?? 3,
    repeats: positiveIntOption(v.repeats, '--repeats') ?? 3,
    threads: positiveIntOption(v.threads, '--threads') ?? null,
    fp16: v.fp16,
    profile: v.profile,
    model: v.model as BenchModel,
    skipCpu: v['skip-cpu'],
    peer: v.peer,
  };
  if (v.model !== 'bench' && v.model !== 'gpt2' && v.model !== 'tiny') throw new UserError(`--model ${v.model}: expected bench, gpt2 or tiny`);
  if (args.backend !== 'webgpu' && (args.model !== 'bench' || args.skipCpu)) throw new UserError('--model and --skip-cpu go with --backend webgpu');
  if (args.backend !== null && args.backend !== 'wasm' && args.path !== 'both') {
    throw new UserError(`--path ${args.path} is a matmul path of the wasm backend; drop --backend ${args.backend} or use --backend wasm`);
  }
  return args;
}

function matmulCeiling(): number {
  const a = tf.randomNormal([1024, 256]) as tf.Tensor2D;
  const b = tf.randomNormal([256, 1024]) as tf.Tensor2D;
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    best = Math.min(best, performance.now() - t0);
    c.dispose();
  }
  tf.dispose([a, b]);
  return (2 * 1024 * 256 * 1024) / (best / 1000) / 1e9;
}

/** Starts the backend (and matmul path) this process measures; a path that does not start is a UserError. */
async function startPath(args: Args, forcedPath: 'wasm' | 'openblas' | null): Promise<{ selected: SelectedBackend; threads: number | null }> {
  if (forcedPath === 'wasm') process.env[NATIVE_MATMUL_ENV] = '0';
  if (forcedPath === 'openblas') {
    delete process.env[NATIVE_MATMUL_ENV];
    if (args.threads !== null) process.env.OPENBLAS_NUM_THREADS = String(args.threads);
  }
  const selected = await selectBackend(forcedPath ? 'wasm' : (args.backend ?? 'auto'));
  if (forcedPath !== null && selected.matmul !== forcedPath) {
    throw new UserError(`the ${forcedPath} matmul path did not start (${selected.note || selected.matmul}); build the addon with \`npm run install\``);
  }
  return { selected, threads: selected.matmul === 'openblas' ? blasThreads() : null };
}

const gflops = (flops: number, ms: number) => flops / (ms / 1000) / 1e9;

/** The repeats, each next to a plain matMul measured around it (the machine's load changes); the best repeat's split and ceiling. */
function bestOfRepeats(args: Args, prefix: string, stepFlops: number, stepper: Stepper): { best: StepTimes; ceiling: number } {
  let best: StepTimes = { fwd: Infinity, bwd: Infinity, opt: Infinity, step: Infinity };
  let ceiling = 0;
  stepper.step(); // warm-up: kernel setup and heap growth
  for (let r = 0; r < args.repeats; r++) {
    const ceilingBefore = matmulCeiling();
    const avg = timeSteps(stepper, args.steps);
    const ceilingR = Math.max(ceilingBefore, matmulCeiling());
    console.log(
      `${prefix} repeat ${r + 1}: step ${avg.step.toFixed(0)} ms (forward ${avg.fwd.toFixed(0)}, backward ${avg.bwd.toFixed(0)}, optimizer ${avg.opt.toFixed(0)}); ` +
        `${gflops(stepFlops, avg.step).toFixed(2)} GFLOP/s vs plain matMul ${ceilingR.toFixed(2)} GFLOP/s = ${((100 * gflops(stepFlops, avg.step)) / ceilingR).toFixed(0)}%`,
    );
    if (avg.step < best.step) {
      best = avg;
      ceiling = ceilingR;
    }
  }
  return { best, ceiling };
}

function printBest(prefix: string, args: Args, best: StepTimes, result: PathResult, totalParams: number): void {
  console.log(`${prefix} best of ${args.repeats} (${args.steps} steps each):`);
  console.log(`${prefix}   step      ${best.step.toFixed(0).padStart(6)} ms  ${result.tokensPerS.toFixed(0)} tokens/s  ${result.stepGf.toFixed(2)} GFLOP/s`);
  console.log(`${prefix}   forward   ${best.fwd.toFixed(0).padStart(6)} ms  ${result.forwardGf.toFixed(2)} GFLOP/s`);
  console.log(`${prefix}   backward  ${best.bwd.toFixed(0).padStart(6)} ms  ${result.backwardGf.toFixed(2)} GFLOP/s`);
  console.log(`${prefix}   optimizer ${best.opt.toFixed(0).padStart(6)} ms  (${totalParams} params, AdamW + clipping; no matmul FLOPs)`);
  console.log(`${prefix}   plain 2-D matMul 1024x256x1024 (ceiling): ${result.ceilingGf.toFixed(2)} GFLOP/s; the step reaches ${((100 * result.stepGf) / result.ceilingGf).toFixed(0)}% of it`);
}

/** Measures the path this process runs on; prints its table and returns its figures. */
async function measure(args: Args, forcedPath: 'wasm' | 'openblas' | null): Promise<PathResult> {
  const { selected, threads } = await startPath(args, forcedPath);
  const shape = BENCH_SHAPES.bench;
  const cfg = modelSchema.parse({ name: 'bench', ...shape.model });
  const stepper = makeStepper(cfg, shape.batch, denseFactory(), args.fp16);
  const { model, tokens } = stepper;
  const p = `[${selected.matmul}]`;
  const flopsPerToken = model.flopsPerToken();
  const threadNote = threads !== null ? `, OpenBLAS threads ${threads} (OPENBLAS_NUM_THREADS=${process.env.OPENBLAS_NUM_THREADS ?? 'unset'})` : '';
  console.log(`${p} backend ${selected.backend}, matmul path ${selected.matmul}${threadNote}${selected.note ? ` (${selected.note})` : ''}${args.fp16 ? ', fp16 emulated' : ''}`);
  console.log(`${p} model ${shape.label}: ${model.paramCounts().total} params, ${(flopsPerToken / 1e6).toFixed(2)} MFLOP/token`);
  const stepFlops = flopsPerToken * tokens;
  const { best, ceiling } = bestOfRepeats(args, p, stepFlops, stepper);
  const result: PathResult = {
    path: selected.matmul,
    threads,
    tokensPerS: tokens / (best.step / 1000),
    stepMs: best.step,
    stepGf: gflops(stepFlops, best.step),
    forwardGf: gflops(stepFlops / 3, best.fwd),
    backwardGf: gflops((2 * stepFlops) / 3, best.bwd),
    optimizerMs: best.opt,
    ceilingGf: ceiling,
  };
  printBest(p, args, best, result, model.paramCounts().total);
  if (args.profile) await printProfile(p, stepper.step);
  stepper.dispose();
  return result;
}

/** Runs one step under tf.profile and prints the kernels that took the most time. */
async function printProfile(prefix: string, trainStep: () => { step: number }): Promise<void> {
  let wallMs = 0;
  const info = await tf.profile(() => {
    wallMs = trainStep().step;
  });
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    // An op with a custom gradient (tf.fused.matMul) is listed as `<name>__op` around its kernel: skip the wrapper.
    if (k.name.endsWith('__op')) continue;
    const entry = byName.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += k.kernelTimeMs as number;
    entry.calls++;
    byName.set(k.name, entry);
  }
  const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
  const top = [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10);
  const calls = [...byName.values()].reduce((n, e) => n + e.calls, 0);
  console.log(`${prefix} profile of one step: ${calls} kernel calls, ${total.toFixed(0)} ms in kernels of a ${wallMs.toFixed(0)} ms step (profiled; the rest is JavaScript between kernels)`);
  console.log(`${prefix}   timing: wall-clock around each kernel (the CPU backends run kernels synchronously)`);
  console.log(`${prefix}   ${'kernel'.padEnd(22)} ${'ms'.padStart(8)} ${'share'.padStart(6)} ${'calls'.padStart(6)}`);
  for (const [name, e] of top) {
    console.log(`${prefix}   ${name.padEnd(22)} ${e.ms.toFixed(1).padStart(8)} ${`${((100 * e.ms) / total).toFixed(1)}%`.padStart(6)} ${String(e.calls).padStart(6)}`);
  }
}

/** Runs `--path <path>` of this script in a child; streams its lines, returns its figures. */
function runChild(path: 'wasm' | 'openblas', args: Args): Promise<PathResult> {
  const script = fileURLToPath(import.meta.url);
  const childArgs = ['--import', 'tsx', script, '--path', path, '--steps', String(args.steps), '--repeats', String(args.repeats)];
  if (args.threads !== null) childArgs.push('--threads', String(args.threads));
  if (args.fp16) childArgs.push('--fp16');
  if (args.profile) childArgs.push('--profile');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, childArgs, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_CHILD: '1' } });
    let result: PathResult | null = null;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(RESULT_TAG)) result = JSON.parse(line.slice(RESULT_TAG.length)) as PathResult;
      else console.log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && result !== null) resolve(result);
      else reject(new Error(`bench --path ${path} exited with code ${code}`));
    });
  });
}

function printComparison(wasm: PathResult, blas: PathResult): void {
  const rows: [string, number, number, number][] = [
    ['tokens/s', wasm.tokensPerS, blas.tokensPerS, 0],
    ['step GFLOP/s', wasm.stepGf, blas.stepGf, 2],
    ['forward GFLOP/s', wasm.forwardGf, blas.forwardGf, 2],
    ['backward GFLOP/s', wasm.backwardGf, blas.backwardGf, 2],
    ['optimizer ms', wasm.optimizerMs, blas.optimizerMs, 0],
    ['plain matMul GFLOP/s', wasm.ceilingGf, blas.ceilingGf, 2],
  ];
  console.log('');
  console.log(`both paths in this run (OpenBLAS threads ${blas.threads}):`);
  console.log(`  ${''.padEnd(22)} ${'wasm'.padStart(10)} ${'openblas'.padStart(10)} ${'openblas/wasm'.padStart(14)}`);
  for (const [label, w, b, digits] of rows) {
    console.log(`  ${label.padEnd(22)} ${w.toFixed(digits).padStart(10)} ${b.toFixed(digits).padStart(10)} ${`${(b / w).toFixed(2)}x`.padStart(14)}`);
  }
  console.log(`  target with OpenBLAS: >= 1000 tokens/s; ${blas.tokensPerS >= 1000 ? 'met' : 'not met'} on this run`);
}

async function main(argv: string[]): Promise<number> {
  const args = parseBenchArgs(argv);
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  if (args.peer) {
    await comparePeerInterleaved({ shape: peerShapeOf(BENCH_SHAPES.bench), path: args.path === 'both' ? null : args.path, threads: args.threads, steps: args.steps, rounds: args.repeats, fp16: args.fp16 });
    return 0;
  }
  if (args.backend === 'webgpu') {
    // GPT-2 124M at 8 x 1024 tokens does not fit the wasm heap (4 GiB: the logits alone take 1.6 GB).
    if (args.model === 'gpt2' && !args.skipCpu) console.log('gpt2: the CPU path is not measured (it does not fit the wasm heap); WebGPU only');
    await benchDevice(args.model, positiveIntOption(argv.includes('--steps') ? String(args.steps) : undefined, '--steps') ?? (args.model === 'gpt2' ? 1 : 3), !args.skipCpu && args.model !== 'gpt2', args.profile);
    return 0;
  }
  const bothPaths = args.path === 'both' && (args.backend === null || args.backend === 'wasm');
  if (!bothPaths) {
    const result = await measure(args, args.path === 'both' ? null : args.path);
    if (process.env.BENCH_CHILD === '1') console.log(RESULT_TAG + JSON.stringify(result));
    return 0;
  }
  const wasm = await runChild('wasm', args);
  const addon = loadBlasAddon();
  if (!addon.loaded) {
    console.log('');
    console.log(`openblas path not measured: ${addon.reason}`);
    return 0;
  }
  console.log('');
  const blas = await runChild('openblas', args);
  printComparison(wasm, blas);
  return 0;
}

runCli(main);
