// The trainer in-process: checkpoint round trip, InRank stage 1 -> prune -> stage 2, stage-2
// errors, emulated fp16 with loss scaling, divergence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunConfig, type RunConfigInput } from '../harness/contract/config.ts';
import { UserError } from '../harness/contract/errors.ts';
import { EXIT, type TrainEvent } from '../harness/contract/protocol.ts';
import { train } from '../harness/train/trainer/run.ts';
import { DamagedCheckpointError, readCheckpoint, writeCheckpoint } from '../harness/train/checkpoint.ts';

const CACHE = join(tmpdir(), 'inrank-engine-test-cache');

async function run(input: RunConfigInput, stopAfterStep?: number): Promise<{ code: number; events: TrainEvent[] }> {
  const events: TrainEvent[] = [];
  let steps = 0;
  const emit = (e: TrainEvent) => {
    if (e.type === 'step') steps = e.step;
    events.push(e);
  };
  const code = await train(parseRunConfig(input), { emit, log: () => {}, stopRequested: () => stopAfterStep !== undefined && steps >= stopAfterStep });
  return { code, events };
}

const base = (outDir: string, extra: Partial<RunConfigInput> = {}): RunConfigInput => ({
  name: 'tiny',
  model: { nEmbd: 32, nHead: 2, nLayer: 1, context: 64, vocabSize: 128 },
  data: { vocabTopK: 128, cacheDir: CACHE },
  train: { globalBatch: 16, microBatch: 8, maxSteps: 6, evalEvery: 100, evalBatches: 1, checkpointEvery: 100, lr: 0.003, warmupSteps: 1 },
  backend: 'wasm',
  outDir,
  ...extra,
});

test('checkpoint round trip: header and tensors come back bit-exact, no temp file left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-ckpt-'));
  const path = join(dir, 'x.ckpt');
  const cfg = parseRunConfig({});
  const data = Float32Array.from({ length: 13 }, (_, i) => Math.sin(i) * 1e-3);
  const state = { step: 5, epoch: 1, position: 32, optimizerT: 4, scheduleSteps: 100, scaler: { scale: 1024, growthTracker: 3 }, skippedSteps: 1, trainMs: 12.5, wallMs: 20, bestValidLoss: 3.25, badEvals: 2, lastTrainLoss: 3.5, lastValidLoss: 3.3 };
  writeCheckpoint(path, { kind: 'periodic', state, pruned: false, model: cfg.model, ranks: { 'h.0.mlp.fc1': 3 }, maxRanks: { 'h.0.mlp.fc1': 8 }, layerStates: {}, params: { total: 1, mlp: 0 }, config: cfg }, [
    { name: 'p:a', shape: [13], data },
    { name: 'm:a', shape: [1, 1], data: new Float32Array([-0.5]) },
  ]);
  assert.deepEqual(readdirSync(dir), ['x.ckpt']);
  const back = readCheckpoint(path);
  assert.equal(back.unverified, false);
  assert.deepEqual(back.header.state, state);
  assert.deepEqual(back.header.ranks, { 'h.0.mlp.fc1': 3 });
  assert.deepEqual(Array.from(back.tensors.get('p:a')!.data), Array.from(data));
  assert.deepEqual(back.tensors.get('m:a')!.shape, [1, 1]);
  assert.deepEqual(Array.from(back.tensors.get('m:a')!.data), [-0.5]);
  // A non-finite value is never a trained one: such a checkpoint is damaged, whatever its checksum says.
  writeCheckpoint(join(dir, 'nan.ckpt'), { ...readCheckpoint(path).header }, [{ name: 'p:a', shape: [1], data: new Float32Array([Number.NaN]) }]);
  assert.throws(() => readCheckpoint(join(dir, 'nan.ckpt')), (e: Error) => e instanceof DamagedCheckpointError && /nan\.ckpt.*non-finite/.test(e.message));
  writeFileSync(join(dir, 'bad.ckpt'), 'hello');
  assert.throws(() => readCheckpoint(join(dir, 'bad.ckpt')), UserError);
  assert.throws(() => readCheckpoint(join(dir, 'none.ckpt')), /does not exist/);
});

test('stage 1 grows ranks and prunes; stage 2 continues at the pruned ranks with fewer parameters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-stages-'));
  const inrank = { initModes: 2, bufferModes: 4, warmupIter: 0, gapIter: 2 };
  const s1 = await run(base(join(dir, 's1'), { method: 'inrank', inrank, stage: { kind: 'stage1', stage1Steps: 3 } }));
  assert.equal(s1.code, EXIT.ok);
  const start1 = s1.events.find((e) => e.type === 'start');
  assert.ok(start1?.type === 'start' && start1.ranks && start1.maxRanks);
  assert.equal(start1.maxRanks['h.0.mlp.fc1'], 16); // floor(min(32, 128) / 2)
  assert.ok(s1.events.some((e) => e.type === 'rank'));
  const prune = s1.events.find((e) => e.type === 'prune');
  assert.ok(prune?.type === 'prune');
  assert.ok(prune.ranks['h.0.mlp.fc1']! > 2, 'ranks grew from initModes');
  const done1 = s1.events.find((e) => e.type === 'done');
  assert.ok(done1?.type === 'done');
  assert.deepEqual(done1.params, prune.params, 'stage 1 ends at its pruned size');
  assert.equal(done1.flopsPerToken, prune.flopsPerToken);
  const prunedPath = join(dir, 's1', 'pruned.ckpt');
  const ck = readCheckpoint(prunedPath);
  assert.equal(ck.header.pruned, true);
  const r = prune.ranks['h.0.mlp.fc1']!;
  assert.deepEqual(ck.tensors.get('p:h.0.mlp.fc1.A')!.shape, [r, 32]);
  assert.deepEqual(ck.tensors.get('m:h.0.mlp.fc1.A')!.shape, [r, 32]);
  assert.deepEqual(ck.tensors.get('v:h.0.mlp.fc1.B')!.shape, [128, r]);

  const s2 = await run(base(join(dir, 's2'), { method: 'inrank', inrank, stage: { kind: 'stage2', from: prunedPath } }));
  assert.equal(s2.code, EXIT.ok);
  const start2 = s2.events.find((e) => e.type === 'start');
  assert.ok(start2?.type === 'start');
  assert.deepEqual(start2.params, prune.params);
  assert.equal(start2.resumedFromStep, 3);
  assert.deepEqual(start2.ranks, prune.ranks);
  assert.equal(start2.maxRanks!['h.0.mlp.fc1'], 16); // the stage-1 cap is still reported
  const steps = s2.events.filter((e) => e.type === 'step').map((e) => (e.type === 'step' ? e.step : 0));
  assert.deepEqual(steps, [4, 5, 6]);
  const dense = await run(base(join(dir, 'dense'), { train: { ...base('').train, maxSteps: 1 } }));
  const denseStart = dense.events.find((e) => e.type === 'start');
  assert.ok(denseStart?.type === 'start' && denseStart.params.total > start2.params.total);
});

test('stage 2 from a missing, foreign-size or unpruned checkpoint is a UserError', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-stage2-'));
  const stage2 = (from: string, model?: object) =>
    run(base(join(dir, 'x'), { method: 'inrank', stage: { kind: 'stage2', from }, ...(model ? { model: { ...base('').model, ...model } } : {}) }));
  await assert.rejects(stage2(join(dir, 'missing.ckpt')), (e: Error) => e instanceof UserError && /does not exist/.test(e.message));
  const full = await run(base(join(dir, 'full'), { train: { ...base('').train, maxSteps: 1 } }));
  assert.equal(full.code, EXIT.ok);
  await assert.rejects(stage2(join(dir, 'full', 'last.ckpt')), (e: Error) => e instanceof UserError && /not a pruned stage-1 checkpoint/.test(e.message));
  const s1 = await run(base(join(dir, 's1'), { method: 'inrank', stage: { kind: 'stage1', stage1Steps: 1 } }));
  assert.equal(s1.code, EXIT.ok);
  await assert.rejects(stage2(join(dir, 's1', 'pruned.ckpt'), { nLayer: 2 }), (e: Error) => e instanceof UserError && /n_layer 1.*n_layer 2/.test(e.message));
  assert.ok(existsSync(join(dir, 's1', 'pruned.ckpt')));
});

test('emulated fp16: overflowing gradients are skipped, the scale halves, training recovers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-fp16-'));
  const r = await run(base(join(dir, 'a'), { precision: { kind: 'fp16', initScale: 2 ** 22, growthInterval: 2000 }, train: { ...base('').train, maxSteps: 14 } }));
  assert.equal(r.code, EXIT.ok);
  const steps = r.events.flatMap((e) => (e.type === 'step' ? [e] : []));
  assert.equal(steps[0]!.skipped, true);
  assert.equal(steps[0]!.lossScale, 2 ** 21);
  // every skip halves the scale; clean steps keep it (growthInterval not reached)
  for (let i = 1; i < steps.length; i++) {
    const before = steps[i - 1]!.lossScale!;
    assert.equal(steps[i]!.lossScale, steps[i]!.skipped ? before / 2 : before);
    assert.equal(Number.isFinite(steps[i]!.gradNorm), !steps[i]!.skipped);
  }
  const clean = steps.filter((s) => !s.skipped);
  assert.ok(clean.length >= steps.length / 2, `training recovered: ${clean.length} of ${steps.length} steps applied`);
  assert.ok(steps.at(-1)!.loss < steps[0]!.loss - 0.2, 'the applied steps trained the model');
  const done = r.events.find((e) => e.type === 'done');
  assert.ok(done?.type === 'done' && done.skippedSteps === steps.length - clean.length);
});

test('a training loss above train.divergenceLoss ends the run as diverged (exit 3)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-div-'));
  const r = await run(base(join(dir, 'a'), { train: { ...base('').train, divergenceLoss: 1 } }));
  assert.equal(r.code, EXIT.diverged);
  const done = r.events.find((e) => e.type === 'done');
  assert.ok(done?.type === 'done' && done.status === 'diverged' && done.steps === 1);
  assert.ok(done.metrics.trainLoss! > 1);
});

const resumeCases = [
  { determinationLag: 0, countEvalPasses: false },
  { determinationLag: 2, countEvalPasses: false },
  // With eval passes counted, the sanity check ticks once before step 1 and not again on resume.
  { determinationLag: 0, countEvalPasses: true },
];
for (const { determinationLag, countEvalPasses } of resumeCases) {
  const how = `${determinationLag === 0 ? '' : ` (determinations on worker threads, lag ${determinationLag}, one in flight at the stop)`}${countEvalPasses ? ' (eval passes counted)' : ''}`;
  test(`InRank stage 1 interrupted and resumed: same losses and rank decisions as uninterrupted${how}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-inrank-resume-'));
    const cfg = (out: string, resume = false) =>
      base(join(dir, out), { method: 'inrank', inrank: { initModes: 2, bufferModes: 4, warmupIter: 1, gapIter: 3, determinationLag, countEvalPasses }, stage: { kind: 'stage1', stage1Steps: 5 }, resume });
    const full = await run(cfg('full'));
    const first = await run(cfg('split'), 2);
    assert.equal(first.code, EXIT.interrupted);
    // Two micro-batches per step: the stop after step 2 is at counter 4, after the determination due at 3.
    const stored = readCheckpoint(join(dir, 'split', 'last.ckpt')).header.layerStates['h.0.mlp.fc1'] as { counter: number; inFlight?: { counter: number } | null };
    assert.equal(stored.counter, countEvalPasses ? 5 : 4);
    assert.equal(stored.inFlight?.counter ?? null, determinationLag === 0 ? null : 3);
    const second = await run(cfg('split', true));
    assert.equal(second.code, EXIT.ok);
    const trace = (events: TrainEvent[]) => events.filter((e) => e.type === 'step' || e.type === 'rank' || e.type === 'prune').map((e) => JSON.stringify(e.type === 'step' ? [e.step, e.loss] : e));
    assert.deepEqual([...trace(first.events), ...trace(second.events)], trace(full.events));
    assert.ok(full.events.some((e) => e.type === 'rank'));
  });
}

test('method fixed: every MLP linear at initModes, capped at floor(min(in, out) / 2)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-fixed-'));
  const r = await run(base(join(dir, 'a'), { method: 'fixed', inrank: { initModes: 5 }, train: { ...base('').train, maxSteps: 1 } }));
  assert.equal(r.code, EXIT.ok);
  const start = r.events.find((e) => e.type === 'start');
  assert.ok(start?.type === 'start');
  assert.deepEqual(start.ranks, { 'h.0.mlp.fc1': 5, 'h.0.mlp.fc2': 5 });
  assert.deepEqual(start.maxRanks, { 'h.0.mlp.fc1': 16, 'h.0.mlp.fc2': 16 });
  assert.equal(start.params.mlp, 2 * (5 * (32 + 128)) + 128 + 32);
  assert.ok(!r.events.some((e) => e.type === 'rank'));
});
