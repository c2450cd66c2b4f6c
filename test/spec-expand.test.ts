// Expansion: counts for every spec and profile, include / exclude, stable ids, stage pipelines.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { defineSweep } from '../harness/spec/define.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import { loadSpec } from '../harness/spec/load.ts';
import { canonicalJson, runIdOf } from '../harness/spec/run-id.ts';
import { formatPlanSummary, formatPlanTable } from '../harness/spec/table.ts';
import { UserError } from '../harness/contract/errors.ts';

const runsDir = join('results', 'runs');

test('every spec expands to the expected number of runs on every profile', async () => {
  const expected: Record<string, Record<string, number>> = {
    // 9 fp32 cells (3 inrank -> 2 runs each) = 12, ER 0.8 = 2, fp16 full x2 + inrank x2 (2 runs) = 6.
    // cpu: the fp32 claims cells on two seeds: 24 + 2 + 6.
    'paper-table': { paper: 20, cpu: 32, smoke: 20, gpu: 20, 'gpu-smoke': 20 },
    demo: { paper: 2, cpu: 2, smoke: 2 },
    // 6 ratios x 2 stages + 1 full-rank baseline.
    'ablation-explained-ratio': { paper: 13, cpu: 13, smoke: 13 },
    // 4 buffer sizes x 2 stages.
    'ablation-buffer': { paper: 8, cpu: 8, smoke: 8 },
    // 3 warmups x 3 gaps x 2 stages; cpu and smoke gaps of 1 and 2 collapse (1/2 of 1 rounds to 1).
    'ablation-warmup': { paper: 18, cpu: 18, smoke: 8 },
  };
  for (const [name, counts] of Object.entries(expected)) {
    const spec = await loadSpec(name);
    for (const [profile, count] of Object.entries(counts)) {
      const plans = expandSweep(spec, { profile, runsDir });
      assert.equal(plans.length, count, `${name} on ${profile}`);
      assert.equal(new Set(plans.map((p) => p.name)).size, count, `${name} on ${profile}: names unique`);
      assert.equal(new Set(plans.map((p) => p.id)).size, count, `${name} on ${profile}: ids unique`);
    }
  }
});

test('include adds runs, exclude drops grid cells (by axis or by resolved setting)', () => {
  const spec = defineSweep({
    name: 'rules',
    description: 'rules test',
    axes: { model: ['gpt2', 'gpt2-medium'], method: ['full', 'fixed'] },
    exclude: [{ model: 'gpt2-medium', method: 'fixed' }],
    include: [{ model: 'gpt2-large', method: 'full', precision: 'fp16' }],
  });
  const names = expandSweep(spec, { profile: 'smoke', runsDir }).map((p) => p.name);
  assert.deepEqual(names, ['gpt2-full-fp32-s1113', 'gpt2-fixed-fp32-s1113', 'gpt2-medium-full-fp32-s1113', 'gpt2-large-full-fp16-s1113']);

  // A rule may name a resolved setting, not only an axis: the paper's lr 6e-4 is gpt2's.
  const byLr = defineSweep({ ...spec, exclude: [{ 'train.lr': 6e-4 }], include: [] });
  const kept = expandSweep(byLr, { profile: 'paper', runsDir }).map((p) => p.config.model.name);
  assert.deepEqual(kept, ['gpt2-medium', 'gpt2-medium']);

  // An include list expands like axes.
  const listed = defineSweep({ name: 'l', description: 'x', axes: { model: ['gpt2'] }, include: [{ model: ['gpt2-medium', 'gpt2-large'], precision: ['fp16', 'fp32'] }] });
  assert.equal(expandSweep(listed, { profile: 'smoke', runsDir }).length, 5);
});

test('profile settings reach the runs: sizes, per-model lr / micro-batch, fixed rank, seeds', async () => {
  const plans = expandSweep(await loadSpec('paper-table'), { profile: 'paper', runsDir });
  const find = (name: string) => plans.find((p) => p.name === name)!;
  const large = find('gpt2-large-fixed-fp32-s1113').config;
  assert.deepEqual([large.model.nEmbd, large.model.nHead, large.model.nLayer, large.model.context, large.model.vocabSize], [1280, 20, 36, 1024, 50257]);
  assert.deepEqual([large.train.lr, large.train.microBatch, large.train.globalBatch, large.inrank.initModes, large.inrank.bufferModes], [1.5e-4, 4, 512, 313, 0]);
  const small = find('gpt2-inrank-fp32-s1113-stage1').config;
  assert.deepEqual([small.train.lr, small.train.microBatch, small.train.maxEpochs, small.train.warmupSteps, small.train.weightDecay], [6e-4, 8, 100, null, 0.1]);
  assert.deepEqual(small.inrank, { initModes: 2, bufferModes: 100, explainedRatio: 0.9, warmupIter: 200, gapIter: 25, initScale: 1, microBatchesPerTick: 8, determinationLag: 0, determinationWorkers: 2, countEvalPasses: true });
  // The three reference behaviours are the defaults (issue 14).
  assert.deepEqual([small.train.decayEmbeddings, small.model.activation], [false, 'reference']);
  assert.equal(small.stage.stage1Steps, 130);
  assert.equal(small.data.corpus, 'wikitext-103');
  assert.equal(find('gpt2-medium-fixed-fp32-s1113').config.inrank.initModes, 287);
  assert.equal(find('gpt2-fixed-fp32-s1113').config.inrank.initModes, 254);

  // cpu: the claims' cells on two seeds, the others on one.
  const cpu = expandSweep(await loadSpec('paper-table'), { profile: 'cpu', runsDir });
  const seedsOf = (prefix: string) => [...new Set(cpu.filter((p) => p.name.startsWith(prefix)).map((p) => p.seed))];
  assert.deepEqual(seedsOf('gpt2-full-fp32'), [1113, 1114]);
  assert.deepEqual(seedsOf('gpt2-large-inrank-fp32-s'), [1113, 1114]);
  assert.deepEqual(seedsOf('gpt2-inrank-fp32-er0.8'), [1113]);
  assert.deepEqual(seedsOf('gpt2-medium-full-fp16'), [1113]);
  // Widths 3:4:5 and depths 1:2:3 on cpu and smoke.
  for (const profile of ['cpu', 'smoke']) {
    const ps = expandSweep(await loadSpec('paper-table'), { profile, runsDir, filters: ['method=full', 'precision=fp32', 'seed=1113'] });
    const [s, m, l] = ['gpt2', 'gpt2-medium', 'gpt2-large'].map((n) => ps.find((p) => p.config.model.name === n)!.config.model);
    assert.deepEqual([s!.nEmbd / 4, m!.nEmbd / 4, l!.nEmbd / 4].map((x) => x / (s!.nEmbd / 12)), [3, 4, 5], profile);
    assert.deepEqual([m!.nLayer / s!.nLayer, l!.nLayer / s!.nLayer], [2, 3], profile);
  }
});

test('ids are stable and independent of paths, names and key order; they change with a setting', () => {
  const a = defineSweep({ name: 'a', description: 'x', base: { train: { lr: 1e-3, weightDecay: 0.05 } }, axes: { model: ['gpt2'], method: ['full', 'inrank'] } });
  const b = defineSweep({ name: 'b', description: 'y', base: { train: { weightDecay: 0.05, lr: 1e-3 } }, axes: { method: ['inrank', 'full'], model: ['gpt2'] } });
  const idsA = expandSweep(a, { profile: 'smoke', runsDir: '/runs/one' }).map((p) => p.id).sort();
  const idsAgain = expandSweep(a, { profile: 'smoke', runsDir: '/runs/one' }).map((p) => p.id).sort();
  const idsB = expandSweep(b, { profile: 'smoke', runsDir: '/elsewhere/runs', dataDir: '/data/wt103' }).map((p) => p.id).sort();
  assert.deepEqual(idsA, idsAgain);
  assert.deepEqual(idsA, idsB, 'same configs in another folder, spec name and key order: same ids');
  assert.match(idsA[0]!, /^[0-9a-f]{16}$/);
  const lr = expandSweep(a, { profile: 'smoke', runsDir: '/runs/one', overrides: ['train.lr=2e-3'] }).map((p) => p.id).sort();
  assert.equal(lr.filter((id) => idsA.includes(id)).length, 0, 'a different lr gives different ids');

  // A full-rank run never reads the InRank block: the same run whatever it says.
  const full = expandSweep(a, { profile: 'smoke', runsDir, filters: ['method=full'] })[0]!;
  const fullEr = expandSweep(a, { profile: 'smoke', runsDir, filters: ['method=full'], overrides: ['inrank.explainedRatio=0.5'] })[0]!;
  assert.equal(full.id, fullEr.id);
  assert.equal(canonicalJson({ b: 1, a: { d: 2, c: 3 } }), canonicalJson({ a: { c: 3, d: 2 }, b: 1 }));
  assert.equal(runIdOf({ ...full.config, name: 'other', outDir: '/x', resume: true }), full.id);
});

test('a stage 2 depends on its stage 1, loads its pruned checkpoint, and its id follows stage 1', () => {
  const spec = defineSweep({ name: 'd', description: 'x', axes: { model: ['gpt2'], method: ['inrank'] } });
  const [s1, s2] = expandSweep(spec, { profile: 'smoke', runsDir: '/r' });
  assert.ok(s1 && s2);
  assert.equal(s1.config.stage.kind, 'stage1');
  assert.equal(s1.dependsOn, null);
  assert.equal(s2.config.stage.kind, 'stage2');
  assert.equal(s2.dependsOn, s1.id);
  assert.equal(s2.config.stage.from, join('/r', s1.id, 'pruned.ckpt'));
  assert.equal(s1.config.outDir, join('/r', s1.id));
  assert.equal(s2.config.outDir, join('/r', s2.id));
  assert.equal(s2.name, 'gpt2-inrank-fp32-s1113-stage2');
  assert.equal(s2.axes.stage, 'stage2');
  assert.ok(s1.expectedCost > 0 && s2.expectedCost > s1.expectedCost, 'stage 2 trains the longer part (5 of 8 steps)');
  // A different stage 1 (fewer stage-1 steps) is a different stage 2, though stage 2's own config differs only in that.
  const [t1, t2] = expandSweep(spec, { profile: 'smoke', runsDir: '/r', overrides: ['stage.stage1Steps=2'] });
  assert.notEqual(t1!.id, s1.id);
  assert.notEqual(t2!.id, s2.id);
  // pipeline 'single' keeps InRank in one run.
  const single = defineSweep({ ...spec, pipeline: 'single' });
  assert.deepEqual(expandSweep(single, { profile: 'smoke', runsDir }).map((p) => p.config.stage.kind), ['single']);
});

test('filters keep matching runs and the stage 1 a kept stage 2 needs', async () => {
  const spec = await loadSpec('paper-table');
  const all = expandSweep(spec, { profile: 'smoke', runsDir });
  const gpt2 = expandSweep(spec, { profile: 'smoke', runsDir, filters: ['model=gpt2'] });
  assert.equal(gpt2.length, 6); // full, fixed, inrank x2, er0.8 x2
  assert.ok(gpt2.every((p) => p.config.model.name === 'gpt2'));
  const stage2 = expandSweep(spec, { profile: 'smoke', runsDir, filters: ['stage=stage2', 'precision=fp16'] });
  assert.deepEqual(stage2.map((p) => p.config.stage.kind), ['stage1', 'stage2', 'stage1', 'stage2']);
  const er = expandSweep(spec, { profile: 'smoke', runsDir, filters: ['inrank.explainedRatio=0.8', 'method=inrank'] });
  assert.equal(er.length, 2);
  const either = expandSweep(spec, { profile: 'smoke', runsDir, filters: ['model=gpt2,gpt2-large', 'method=full'] });
  assert.deepEqual(either.map((p) => p.name), ['gpt2-full-fp32-s1113', 'gpt2-large-full-fp32-s1113', 'gpt2-large-full-fp16-s1113']);
  assert.equal(expandSweep(spec, { profile: 'smoke', runsDir, filters: [`id=${all[3]!.id}`] }).length, 2, 'a stage 2 by id brings its stage 1');
  assert.throws(() => expandSweep(spec, { profile: 'smoke', runsDir, filters: ['modle=gpt2'] }), (e: Error) => e instanceof UserError && /unknown filter key 'modle'.*'model'/.test(e.message));
  assert.throws(() => expandSweep(spec, { profile: 'smoke', runsDir, filters: ['gpt2'] }), UserError);
});

test('unknown profile or model: one line with the closest', () => {
  const spec = defineSweep({ name: 'm', description: 'x', axes: { model: ['gpt2-small'] } });
  assert.throws(() => expandSweep(spec, { profile: 'smoke', runsDir }), /model 'gpt2-small' is not in the profile.*did you mean/);
  assert.throws(() => expandSweep(spec, { profile: 'cpuu', runsDir }), /unknown profile 'cpuu' \(did you mean 'cpu'\?\)/);
  // A spec may add a profile of its own on top of a shared one, and add a model to it.
  const own = defineSweep({
    name: 'own',
    description: 'x',
    axes: { model: ['gpt2-xl'] },
    profiles: { tiny: { extends: 'smoke', models: { 'gpt2-xl': { nEmbd: 96, nHead: 3, nLayer: 4, lr: 1e-3, microBatch: 2, fixedRank: 30 } }, base: { train: { maxSteps: 3 } } } },
  });
  const [p] = expandSweep(own, { profile: 'tiny', runsDir });
  assert.deepEqual([p!.config.model.nEmbd, p!.config.train.maxSteps, p!.config.model.context], [96, 3, 32]);
});

test('the dry-run table lists every run with its dependency; the summary counts them', async () => {
  const plans = expandSweep(await loadSpec('demo'), { profile: 'cpu', runsDir });
  const table = formatPlanTable(plans);
  for (const p of plans) assert.ok(table.includes(p.name) && table.includes(p.id));
  const stage2Line = table.split('\n').find((l) => l.includes('stage2 '))!;
  assert.match(stage2Line, /gpt2-inrank-fp32-s1113-stage1/);
  assert.match(stage2Line, /\b225\b/); // 300 steps, 75 in stage 1
  assert.match(formatPlanSummary(plans), /^2 runs \(profile cpu\): 2 inrank \(1 stage 2 waiting on their stage 1\); 1 model; expected [\d.]+ [GT]FLOP/);
});
