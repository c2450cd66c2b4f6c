// Command-line overrides: dot paths, the paper's Hydra names, conflicts and unknown keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOverrides, OVERRIDE_KEYS, parseOverrides } from '../harness/spec/overrides.ts';
import { defineSweep } from '../harness/spec/define.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import { parseRunConfig } from '../harness/contract/config.ts';
import { UserError } from '../harness/contract/errors.ts';

const base = parseRunConfig({});

test('dot paths: values parse as JSON where they can, else strings', () => {
  const c = applyOverrides(base, ['train.lr=3e-4', 'inrank.explainedRatio=0.8', 'model.nLayer=6', 'backend=wasm', 'train.patience=null', 'stage.resetMoments=true']);
  assert.equal(c.train.lr, 3e-4);
  assert.equal(c.inrank.explainedRatio, 0.8);
  assert.equal(c.model.nLayer, 6);
  assert.equal(c.backend, 'wasm');
  assert.equal(c.train.patience, null);
  assert.equal(c.stage.resetMoments, true);
  assert.equal(base.train.lr, 6e-4, 'the input config is not modified');
  assert.equal(applyOverrides(base, ['train.lr=1e-3', 'train.lr=2e-3']).train.lr, 2e-3, 'later wins');
});

test("every paper name maps to our setting", () => {
  const cases: Array<[string, (c: ReturnType<typeof parseRunConfig>) => unknown, unknown]> = [
    ['trainer.precision=16', (c) => c.precision.kind, 'fp16'],
    ['trainer.precision=32', (c) => c.precision.kind, 'fp32'],
    ['trainer.devices=8', (c) => c.inrank.microBatchesPerTick, 8],
    ['trainer.max_steps=500', (c) => c.train.maxSteps, 500],
    ['trainer.max_steps=-1', (c) => c.train.maxSteps, null],
    ['trainer.max_epochs=3', (c) => c.train.maxEpochs, 3],
    ['seed=42', (c) => c.train.seed, 42],
    ['optimizer.lr=1.5e-4', (c) => c.train.lr, 1.5e-4],
    ['optimizer.weight_decay=0.01', (c) => c.train.weightDecay, 0.01],
    ['datamodule.batch_size=4', (c) => c.train.microBatch, 4],
    ['train.global_batch_size=256', (c) => c.train.globalBatch, 256],
  ];
  const linear: Array<[string, (c: ReturnType<typeof parseRunConfig>) => unknown, unknown]> = [
    ['explained_ratio_threshold=0.8', (c) => c.inrank.explainedRatio, 0.8],
    ['init_modes=254', (c) => c.inrank.initModes, 254],
    ['buffer_modes=0', (c) => c.inrank.bufferModes, 0],
    ['warmup_iter=999999999', (c) => c.inrank.warmupIter, 999999999],
    ['gap_iter=10', (c) => c.inrank.gapIter, 10],
    ['init_scale=0.5', (c) => c.inrank.initScale, 0.5],
  ];
  for (const [line, read, want] of linear) {
    for (const l of ['linear1_cfg', 'linear2_cfg']) cases.push([`model.mlp_cfg.${l}.${line}`, read, want]);
  }
  for (const [line, read, want] of cases) assert.deepEqual(read(applyOverrides(base, [line])), want, line);
  assert.ok(OVERRIDE_KEYS.includes('model.mlp_cfg.linear2_cfg.gap_iter'));
  // Hydra's + prefix is accepted.
  assert.equal(applyOverrides(base, ['+trainer.max_epochs=2']).train.maxEpochs, 2);
});

test("the paper's fixed-rank command line copies over as is", () => {
  const line = 'trainer.devices=8 trainer.precision=32 model.mlp_cfg.linear1_cfg.init_modes=254 model.mlp_cfg.linear2_cfg.init_modes=254 model.mlp_cfg.linear1_cfg.buffer_modes=0 model.mlp_cfg.linear2_cfg.buffer_modes=0 model.mlp_cfg.linear1_cfg.warmup_iter=999999999 model.mlp_cfg.linear2_cfg.warmup_iter=999999999';
  const c = applyOverrides(base, line.split(' '));
  assert.deepEqual([c.inrank.initModes, c.inrank.bufferModes, c.inrank.warmupIter, c.inrank.microBatchesPerTick, c.precision.kind], [254, 0, 999999999, 8, 'fp32']);
});

test('linear1 and linear2 set differently: one error saying why', () => {
  assert.throws(
    () => parseOverrides(['model.mlp_cfg.linear1_cfg.explained_ratio_threshold=0.8', 'model.mlp_cfg.linear2_cfg.explained_ratio_threshold=0.9']),
    (e: Error) => e instanceof UserError && /one InRank setting \(inrank\.explainedRatio\) for both MLP linears/.test(e.message) && !e.message.includes('\n'),
  );
});

test('unknown key: one line naming it and the closest valid key', () => {
  const cases: Array<[string, string]> = [
    ['train.lrr=1', 'train.lr'],
    ['inrank.explainedRatoi=0.8', 'inrank.explainedRatio'],
    ['explainedRatio=0.8', 'inrank.explainedRatio'],
    ['trainer.precison=16', 'trainer.precision'],
    ['model.mlp_cfg.linear1_cfg.init_mode=3', 'model.mlp_cfg.linear1_cfg.init_modes'],
    ['optimizer.learning_rate=1', 'optimizer.lr'],
  ];
  for (const [line, closest] of cases) {
    assert.throws(
      () => applyOverrides(base, [line]),
      (e: Error) => e instanceof UserError && e.message.includes(`'${line.split('=')[0]}'`) && e.message.includes(`did you mean '${closest}'`) && !e.message.includes('\n'),
      line,
    );
  }
});

test('bad values and malformed lines are user errors', () => {
  assert.throws(() => applyOverrides(base, ['train.lr=fast']), (e: Error) => e instanceof UserError && /train\.lr/.test(e.message));
  assert.throws(() => applyOverrides(base, ['trainer.precision=bf16']), /use 16 \(fp16\) or 32 \(fp32\)/);
  assert.throws(() => applyOverrides(base, ['train.lr']), /expected key=value/);
  assert.throws(() => applyOverrides(base, ['outDir=/x']), /set by the harness/);
  assert.throws(() => applyOverrides(base, ['model.nEmbd=100']), /divisible by model\.nHead/);
});

test('overrides apply after the profile, to every run of a sweep', () => {
  const spec = defineSweep({ name: 'o', description: 'x', axes: { model: ['gpt2', 'gpt2-large'], method: ['inrank'] } });
  const plans = expandSweep(spec, { profile: 'paper', runsDir: 'r', overrides: ['trainer.precision=16', 'model.mlp_cfg.linear1_cfg.explained_ratio_threshold=0.8', 'optimizer.lr=1e-4'] });
  assert.equal(plans.length, 4);
  for (const p of plans) {
    assert.equal(p.config.precision.kind, 'fp16');
    assert.equal(p.config.inrank.explainedRatio, 0.8);
    assert.equal(p.config.train.lr, 1e-4, 'over the profile lr of each model');
  }
  assert.equal(plans[0]!.name, 'gpt2-inrank-fp16-s1113-stage1', 'names show the resolved settings');
  // seed=N collapses the seeds: the same run once.
  const seeds = defineSweep({ name: 's', description: 'x', axes: { model: ['gpt2'] }, seeds: [1, 2, 3] });
  assert.equal(expandSweep(seeds, { profile: 'smoke', runsDir: 'r' }).length, 3);
  assert.equal(expandSweep(seeds, { profile: 'smoke', runsDir: 'r', overrides: ['seed=7'] }).length, 1);
  assert.throws(() => expandSweep(seeds, { profile: 'smoke', runsDir: 'r', overrides: ['sede=7'] }), /did you mean 'seed'/);
});
