// Fills a results database through the Store API and reads everything back.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defineSweep } from '../harness/spec/define.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import { openStore } from '../harness/store/store.ts';
import type { TrainEvent } from '../harness/contract/protocol.ts';
import { testPlan } from './fixtures/harness-plans.ts';

const dir = mkdtempSync(join(tmpdir(), 'store-rt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('store round trip: sweep, plans, events, final state', () => {
  const store = openStore(join(dir, 'sub', 'r.db'));
  assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  const runsDir = join(dir, 'runs');
  const s1 = testPlan({ name: 'gpt2-inrank-s1-stage1', runsDir, config: { method: 'inrank', stage: { kind: 'stage1' } } });
  const s2 = testPlan({ name: 'gpt2-inrank-s1-stage2', runsDir, dependsOn: s1 });
  const sweep = store.beginSweep('demo', 'cpu', { overrides: ['train.lr=1e-3'] });
  store.addPlans(sweep, [s1, s2]);
  store.addPlans(sweep, [s1, s2]); // idempotent
  assert.deepEqual(store.sweepRuns(sweep).map((r) => r.name), [s1.name, s2.name]);
  assert.equal(store.getRun(s2.id)!.depends_on, s1.id);
  assert.equal(store.getRun(s1.id)!.status, 'pending');

  assert.ok(store.claimRun(s1.id));
  assert.ok(!store.claimRun(s1.id), 'a running run cannot be claimed twice');
  store.markStarted(s1.id, { executor: 'local', jobId: '4242', device: 'cpu0' });
  const events: TrainEvent[] = [
    {
      type: 'start', time: new Date().toISOString(), backend: 'wasm', matmul: 'openblas', config: s1.config,
      params: { total: 1000, mlp: 400 }, flopsPerToken: 6000, scheduleSteps: 10, maxSteps: 10, stepsPerEpoch: 5,
      resumedFromStep: null, ranks: { 'h.0.fc1': 2 }, maxRanks: { 'h.0.fc1': 16 },
    },
    { type: 'step', step: 1, epoch: 0, loss: 9.5, lr: 1e-4, gradNorm: 2, tokensPerSec: 100, trainMs: 10 },
    { type: 'step', step: 2, epoch: 0, loss: NaN, lr: 2e-4, gradNorm: 2, tokensPerSec: 100, trainMs: 20, skipped: true, lossScale: 32768 },
    { type: 'eval', step: 2, split: 'valid', loss: 8, ppl: Math.exp(8) },
    { type: 'rank', step: 2, counter: 25, layer: 'h.0.fc1', currentModes: 5, maxRank: 16, explainedRatio: 0.93, singularValues: [3, 2, 1] },
    { type: 'prune', step: 2, ranks: { 'h.0.fc1': 5 }, params: { total: 800, mlp: 200 }, flopsPerToken: 4800 },
    { type: 'checkpoint', step: 2, path: join(s1.config.outDir, 'pruned.ckpt'), kind: 'pruned' },
  ];
  for (const e of events) store.recordEvent(s1.id, e);
  store.finishRun(s1.id, {
    status: 'done',
    reason: 'stage 1 complete',
    done: {
      type: 'done', status: 'done', reason: 'stage 1 complete', steps: 2, wallMs: 50, trainMs: 20, skippedSteps: 1,
      params: { total: 800, mlp: 200 }, flopsPerToken: 4800, ranks: { 'h.0.fc1': 5 },
      metrics: { trainLoss: 9.4, validLoss: 8, validPpl: Math.exp(8), testLoss: null, testPpl: null, bestValidLoss: 8 },
      checkpoint: join(s1.config.outDir, 'pruned.ckpt'),
    },
  });

  const row = store.getRun(s1.id)!;
  assert.equal(row.status, 'done');
  assert.equal(row.attempts, 1);
  assert.equal(row.job_id, '4242');
  assert.equal(row.backend, 'wasm');
  assert.equal(row.params_total_start, 1000);
  assert.equal(row.params_total, 800);
  assert.deepEqual(JSON.parse(row.ranks!), { 'h.0.fc1': 5 });
  assert.deepEqual(JSON.parse(row.max_ranks!), { 'h.0.fc1': 16 });
  assert.equal(row.valid_loss, 8);
  assert.equal(row.test_ppl, null);
  assert.equal(row.skipped_steps, 1);
  assert.deepEqual(JSON.parse(row.config), JSON.parse(JSON.stringify(s1.config)));
  const train = store.metrics(s1.id, 'train');
  assert.deepEqual(train.map((m) => m.step), [1, 2]);
  assert.equal(train[1]!.loss, null, 'NaN loss is stored as NULL');
  assert.equal(train[1]!.skipped, 1);
  assert.equal(store.metrics(s1.id, 'valid')[0]!.ppl, Math.exp(8));
  const ranks = store.rankEvents(s1.id);
  assert.equal(ranks.length, 1);
  assert.deepEqual(JSON.parse(ranks[0]!.singular_values), [3, 2, 1]);
  assert.equal(store.handoverCheckpoint(s1.id), join(s1.config.outDir, 'pruned.ckpt'));
  assert.ok(!store.claimRun(s1.id), 'a done run is not claimed again');

  store.finishRun(s2.id, { status: 'skipped', reason: 'prerequisite failed' });
  assert.equal(store.listRuns({ status: 'skipped' }).length, 1);
  assert.throws(() => store.findRun('gpt2-inrank-s1'), /matches 2 runs/);
  assert.throws(() => store.findRun('nope'), /no stored run matches/);
  assert.equal(store.findRun(s2.id.slice(0, 6)).id, s2.id);
  assert.equal(store.findRun(s2.name).id, s2.id);
  assert.deepEqual(store.statusCounts(sweep), { pending: 0, running: 0, done: 1, diverged: 0, failed: 0, skipped: 1, interrupted: 0, pruned: 0 });
  store.finishSweep(sweep, 'done');
  assert.equal(store.latestSweep()!.status, 'done');
  store.close();
});

test('a resumed run drops the metric rows after its checkpoint step', () => {
  const store = openStore(join(dir, 'resume.db'));
  const p = testPlan({ name: 'r', runsDir: join(dir, 'runs') });
  const sweep = store.beginSweep('t', 'test', {});
  store.addPlans(sweep, [p]);
  const start = (resumedFromStep: number | null): TrainEvent => ({
    type: 'start', time: '', backend: 'cpu', matmul: 'cpu', config: {}, params: { total: 1, mlp: 1 }, flopsPerToken: 1,
    scheduleSteps: 9, maxSteps: 9, stepsPerEpoch: 9, resumedFromStep, ranks: null, maxRanks: null,
  });
  store.recordEvent(p.id, start(null));
  for (let step = 1; step <= 5; step++) store.recordEvent(p.id, { type: 'step', step, epoch: 0, loss: 1, lr: 1, gradNorm: 1, tokensPerSec: 1, trainMs: step });
  store.recordEvent(p.id, start(3));
  for (let step = 4; step <= 6; step++) store.recordEvent(p.id, { type: 'step', step, epoch: 0, loss: 1, lr: 1, gradNorm: 1, tokensPerSec: 1, trainMs: step });
  assert.deepEqual(store.metrics(p.id, 'train').map((m) => m.step), [1, 2, 3, 4, 5, 6]);
  store.close();
});

test('a 10,000-run spec expands and is stored fast (printed against a bare insert baseline)', () => {
  const store = openStore(join(dir, 'scale.db'));
  const ten = (f: (i: number) => number) => Array.from({ length: 10 }, (_, i) => f(i));
  const spec = defineSweep({
    name: 'scale',
    description: 'a 10,000-run grid',
    axes: { model: ['gpt2'], method: ['fixed'], 'train.lr': ten((i) => 1e-4 * (i + 1)), 'inrank.initModes': ten((i) => 10 + i), 'train.weightDecay': ten((i) => i / 100) },
    seeds: ten((i) => 1000 + i),
  });
  let t = performance.now();
  const plans = expandSweep(spec, { profile: 'smoke', runsDir: join(dir, 'runs') });
  const expandMs = performance.now() - t;
  assert.equal(plans.length, 10_000);
  // Baseline in the same process: the same count of trivial rows into a scratch table.
  store.db.exec('CREATE TEMP TABLE baseline (id TEXT PRIMARY KEY, v TEXT)');
  const ins = store.db.prepare('INSERT INTO baseline VALUES (?, ?)');
  t = performance.now();
  store.db.transaction(() => plans.forEach((p) => ins.run(p.id, p.name)))();
  const baselineMs = performance.now() - t;
  const sweep = store.beginSweep('scale', 'smoke', {});
  t = performance.now();
  store.addPlans(sweep, plans);
  const storeMs = performance.now() - t;
  const again = store.beginSweep('scale', 'smoke', {});
  t = performance.now();
  store.addPlans(again, plans);
  const rerunMs = performance.now() - t;
  console.log(
    `10,000 runs: expand ${expandMs.toFixed(0)} ms, store ${storeMs.toFixed(0)} ms (rerun, all present: ${rerunMs.toFixed(0)} ms); ` +
      `baseline bare 2-column insert ${baselineMs.toFixed(0)} ms (store = ${(storeMs / baselineMs).toFixed(1)}x)`,
  );
  assert.equal(store.sweepRuns(sweep).length, 10_000);
  assert.equal(store.sweepRuns(again).length, 10_000);
  assert.equal(store.listRuns().length, 10_000);
  assert.ok(expandMs + storeMs < 10_000, `expand + store took ${expandMs + storeMs} ms`);
  store.close();
});
