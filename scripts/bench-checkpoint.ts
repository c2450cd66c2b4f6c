// What the checkpoint checksum costs, on the cpu profile's largest model (paper-table, the
// largest run by parameters): a real model and AdamW state (parameters + two moments) written
// with the SHA-256 trailer and loaded with its verification (harness/contract/checkpoint-file.ts),
// against the same bytes written and read back raw (no digest, no checks) in the same run.
// Run: npx tsx scripts/bench-checkpoint.ts [--repeats N]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCliArgs, positiveIntOption, runCli } from '../harness/cli/common.ts';
import { selectBackend } from '../harness/train/backend/select.ts';
import { readCheckpoint, writeCheckpoint, type NamedArray } from '../harness/train/checkpoint.ts';
import { AdamW } from '../harness/train/optim/adamw.ts';
import { buildModel } from '../harness/train/trainer/prepare.ts';
import { modelTensors } from '../harness/train/trainer/model-state.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import { loadSpec } from '../harness/spec/load.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timed(repeats: number, f: () => void): number {
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    f();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

async function largestCpuRun(dir: string) {
  const plans = expandSweep(await loadSpec('paper-table'), { profile: 'cpu', runsDir: dir });
  const size = (p: (typeof plans)[number]) => p.config.model.nEmbd * p.config.model.nLayer;
  const plan = plans.filter((p) => p.config.method === 'full').sort((a, b) => size(b) - size(a))[0]!;
  return plan.config;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseCliArgs(argv, { repeats: { type: 'string', default: '7' } }, 'usage: npx tsx scripts/bench-checkpoint.ts [--repeats N]');
  const repeats = positiveIntOption(values.repeats, '--repeats') ?? 7;
  const dir = mkdtempSync(join(tmpdir(), 'bench-ckpt-'));
  try {
    await selectBackend('wasm');
    const cfg = await largestCpuRun(dir);
    const start = { lastPath: '', resumedPath: null, source: null, isResume: false, fixedRanks: undefined, nominalMax: undefined };
    const { model, params } = buildModel(cfg, start, null, () => {});
    const optim = new AdamW(params, cfg.train);
    const tensors: NamedArray[] = await modelTensors(model, optim);
    const header = { kind: 'periodic' as const, state: { step: 1, epoch: 0, position: 0, optimizerT: 1, scheduleSteps: 1, scaler: { scale: 1, growthTracker: 0 }, skippedSteps: 0, trainMs: 0, wallMs: 0, bestValidLoss: null, badEvals: 0, lastTrainLoss: null, lastValidLoss: null }, pruned: false, model: cfg.model, ranks: null, maxRanks: null, layerStates: {}, params: model.paramCounts(), config: cfg };
    const path = join(dir, 'last.ckpt');
    const raw = join(dir, 'raw.bin');
    const bytes = Buffer.concat(tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
    const writeMs = timed(repeats, () => writeCheckpoint(path, header, tensors, join(dir, 'prev.ckpt')));
    const rawWriteMs = timed(repeats, () => writeFileSync(raw, bytes, { flush: true }));
    const readMs = timed(repeats, () => readCheckpoint(path));
    const rawReadMs = timed(repeats, () => new Float32Array(new Uint8Array(readFileSync(raw)).buffer));
    const hashMs = timed(repeats, () => createHash('sha256').update(readFileSync(raw)).digest());
    const mb = bytes.length / 2 ** 20;
    console.log(`${cfg.name}: ${model.paramCounts().total.toLocaleString()} parameters, checkpoint ${mb.toFixed(1)} MiB (parameters + AdamW moments), median of ${repeats}`);
    console.log(`write: ${writeMs.toFixed(1)} ms with the SHA-256 trailer and the prev.ckpt rename; raw write + fsync of the same bytes ${rawWriteMs.toFixed(1)} ms; ratio ${(writeMs / rawWriteMs).toFixed(2)}`);
    console.log(`load: ${readMs.toFixed(1)} ms verified (digest, structure, finite values); raw read ${rawReadMs.toFixed(1)} ms; ratio ${(readMs / rawReadMs).toFixed(2)}`);
    console.log(`SHA-256 alone (read + digest): ${hashMs.toFixed(1)} ms = ${(mb / (hashMs / 1000)).toFixed(0)} MiB/s`);
    model.dispose();
    optim.dispose();
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runCli(main);
