// Kernel-level matmul benchmark: GFLOP/s of the tfjs wasm kernels against the OpenBLAS kernels
// (1 and 2 OpenBLAS threads), measured in the same run, with the ratio.
//
//   npx tsx scripts/bench-matmul.ts [--seconds 0.5] [--threads 1,2]
//
// Shapes: the three products of a 1024 x 256 x 1024 linear layer (forward A·W, input
// gradient dy·Wᵀ, weight gradient Aᵀ·dy), the two products of 32-batch attention, and a
// few odd shapes and broadcasts.
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { UserError } from '../harness/contract/errors.ts';
import { parseCliArgs, runCli } from '../harness/cli/common.ts';
import {
  blasThreads, disableNativeMatmul, enableNativeMatmul, loadBlasAddon, setBlasThreads,
} from '../harness/train/backend/blas.ts';

interface Case {
  name: string;
  a: number[];
  b: number[];
  transA: boolean;
  transB: boolean;
}

const CASES: Case[] = [
  { name: 'A·W      1024x256 · 256x1024', a: [1024, 256], b: [256, 1024], transA: false, transB: false },
  { name: 'dy·Wᵀ    1024x1024 · (256x1024)ᵀ', a: [1024, 1024], b: [256, 1024], transA: false, transB: true },
  { name: 'Aᵀ·dy    (1024x256)ᵀ · 1024x1024', a: [1024, 256], b: [1024, 1024], transA: true, transB: false },
  { name: 'Q·Kᵀ     32 x 128x64 · (128x64)ᵀ', a: [32, 128, 64], b: [32, 128, 64], transA: false, transB: true },
  { name: 'P·V      32 x 128x128 · 128x64', a: [32, 128, 128], b: [32, 128, 64], transA: false, transB: false },
  { name: 'odd      333x77 · 77x129', a: [333, 77], b: [77, 129], transA: false, transB: false },
  { name: 'odd ᵀᵀ   (77x333)ᵀ · (129x77)ᵀ', a: [77, 333], b: [129, 77], transA: true, transB: true },
  { name: 'bcast    8 x 127x255 · 255x63', a: [8, 127, 255], b: [255, 63], transA: false, transB: false },
  { name: 'thin     4096x16 · 16x1024', a: [4096, 16], b: [16, 1024], transA: false, transB: false },
];

function flops(c: Case): number {
  const rank = c.a.length;
  const m = c.transA ? c.a[rank - 1]! : c.a[rank - 2]!;
  const k = c.transA ? c.a[rank - 2]! : c.a[rank - 1]!;
  const n = c.transB ? c.b[c.b.length - 2]! : c.b[c.b.length - 1]!;
  const batch = Math.max(tf.util.sizeFromShape(c.a.slice(0, -2)), tf.util.sizeFromShape(c.b.slice(0, -2)));
  return 2 * batch * m * n * k;
}

/** GFLOP/s of the currently registered kernel: repeats the product for at least `seconds`. */
function measure(c: Case, a: tf.Tensor, b: tf.Tensor, seconds: number): number {
  tf.matMul(a, b, c.transA, c.transB).dispose(); // warm-up: first-call setup stays out of the figure
  let reps = 0;
  const start = performance.now();
  let elapsed = 0;
  while (reps < 2 || elapsed < seconds * 1000) {
    tf.matMul(a, b, c.transA, c.transB).dispose();
    reps++;
    elapsed = performance.now() - start;
  }
  return (flops(c) * reps) / (elapsed / 1000) / 1e9;
}

const USAGE = 'usage: npx tsx scripts/bench-matmul.ts [--seconds 0.5] [--threads 1,2]';

function parseMatmulArgs(argv: string[]): { seconds: number; threads: number[] } | null {
  const { values: v } = parseCliArgs(argv, {
    seconds: { type: 'string', default: '0.5' },
    threads: { type: 'string', default: '1,2' },
    help: { type: 'boolean', short: 'h', default: false },
  } as const, 'npx tsx scripts/bench-matmul.ts --help');
  if (v.help) return null;
  const seconds = Number(v.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UserError(`--seconds ${v.seconds}: expected a positive number of seconds per measurement`);
  const threads = v.threads.split(',').map(Number);
  if (threads.some((t) => !Number.isInteger(t) || t < 1)) {
    throw new UserError(`--threads ${v.threads}: expected a comma-separated list of thread counts, e.g. 1,2`);
  }
  return { seconds, threads };
}

async function main(argv: string[]): Promise<number> {
  const args = parseMatmulArgs(argv);
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  const { seconds, threads } = args;
  const addon = loadBlasAddon();
  if (!addon.loaded) {
    throw new UserError(`OpenBLAS matmul unavailable: ${addon.reason}`);
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
  const defaultThreads = blasThreads();
  console.log(`wasm kernels vs ${addon.reason} (OpenBLAS default ${defaultThreads} thread(s)); ${seconds} s per figure`);

  const header = ['product', 'GFLOP', 'wasm', ...threads.map((t) => `blas ${t}t`), ...threads.map((t) => `x${t}t`)];
  const rows: string[][] = [];
  for (const c of CASES) {
    const a = tf.randomNormal(c.a, 0, 1, 'float32', 1);
    const b = tf.randomNormal(c.b, 0, 1, 'float32', 2);
    disableNativeMatmul();
    const wasm = measure(c, a, b, seconds);
    enableNativeMatmul();
    const native = threads.map((t) => {
      setBlasThreads(t);
      return measure(c, a, b, seconds);
    });
    disableNativeMatmul();
    tf.dispose([a, b]);
    rows.push([c.name, (flops(c) / 1e9).toFixed(3), wasm.toFixed(1), ...native.map((g) => g.toFixed(1)),
      ...native.map((g) => `${(g / wasm).toFixed(1)}x`)]);
    printRow(header, rows[rows.length - 1]!, rows.length === 1);
  }
  setBlasThreads(defaultThreads);
  return 0;
}

function printRow(header: string[], row: string[], withHeader: boolean): void {
  const widths = header.map((h, i) => Math.max(h.length, i === 0 ? 36 : 8));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  if (withHeader) {
    console.log(line(header));
    console.log('GFLOP/s per kernel; xNt = OpenBLAS with N threads over wasm, same run');
  }
  console.log(line(row));
}

runCli(main);
