// Hydra-style axes on the command line: key=a,b,c and key=range(...), typed by the setting's
// schema, and their expansion (they replace the spec's axis of the same key).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { axesForExpansion, expandRange, isAxisArgument, parseCliAxis, splitAxesAndOverrides, splitTopLevel } from '../harness/spec/cli-axes.ts';
import { defineSweep } from '../harness/spec/define.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import { UserError } from '../harness/contract/errors.ts';
import { runCliSync } from './fixtures/harness-cli.ts';

const userError = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n'));

test('values are parsed as the setting type: numbers, booleans, enums, null where nullable', () => {
  assert.deepEqual(parseCliAxis('inrank.explainedRatio=0.7,0.8,0.9').values, [0.7, 0.8, 0.9]);
  assert.deepEqual(parseCliAxis('train.lr=1e-3,3e-4').values, [1e-3, 3e-4]);
  assert.deepEqual(parseCliAxis('stage.resetMoments=true,false').values, [true, false]);
  assert.deepEqual(parseCliAxis('method=full,inrank').values, ['full', 'inrank']);
  assert.deepEqual(parseCliAxis('train.maxSteps=null,100').values, [null, 100]);
  assert.deepEqual(parseCliAxis('model=gpt2,gpt2-medium'), { key: 'model', axis: 'model', values: ['gpt2', 'gpt2-medium'] });
  assert.deepEqual(parseCliAxis('precision=fp32,fp16').values, ['fp32', 'fp16']);
  assert.deepEqual(parseCliAxis('seed=1,2,3'), { key: 'seed', axis: 'seed', values: [1, 2, 3] });
  // A string setting keeps what was typed, quotes removed; a quoted comma does not split.
  assert.deepEqual(parseCliAxis(`model.name='a,b',c`).values, ['a,b', 'c']);
});

test("the paper's Hydra names map to our settings and convert their values", () => {
  assert.deepEqual(parseCliAxis('trainer.precision=16,32'), { key: 'trainer.precision', axis: 'precision', values: ['fp16', 'fp32'] });
  assert.deepEqual(parseCliAxis('model.mlp_cfg.linear1_cfg.explained_ratio_threshold=0.8,0.9'), {
    key: 'model.mlp_cfg.linear1_cfg.explained_ratio_threshold', axis: 'inrank.explainedRatio', values: [0.8, 0.9],
  });
  assert.deepEqual(parseCliAxis('trainer.max_steps=-1,50').values, [null, 50]);
  assert.equal(parseCliAxis('+seed=5,6').axis, 'seed');
});

test('range() is Python / Hydra range: stop excluded, float steps rounded to their decimals', () => {
  assert.deepEqual(parseCliAxis('inrank.explainedRatio=range(0.5,0.95,0.05)').values, [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]);
  assert.deepEqual(expandRange('0.1,0.4,0.1', 'x'), [0.1, 0.2, 0.3]);
  assert.deepEqual(expandRange('4', 'x'), [0, 1, 2, 3]);
  assert.deepEqual(expandRange('2,5', 'x'), [2, 3, 4]);
  assert.deepEqual(expandRange('10,0,-3', 'x'), [10, 7, 4, 1]);
  assert.deepEqual(expandRange('1e-4,5e-4,1e-4', 'x'), [1e-4, 2e-4, 3e-4, 4e-4]);
  assert.deepEqual(parseCliAxis('inrank.bufferModes=range(4,20,4)').values, [4, 8, 12, 16]);
  userError(() => expandRange('0,1,0', 'axis a'), /step must not be 0/);
  userError(() => expandRange('1,0', 'axis a'), /is empty/);
  userError(() => expandRange('0,1e9', 'axis a'), /more than 10000 values/);
  userError(() => expandRange('a,2', 'axis a'), /takes numbers, got 'a'/);
  userError(() => parseCliAxis('method=range(3)'), /range\(\) needs a numeric setting/);
});

test('mistakes are one line: wrong type, unknown key, harness-owned key, empty or repeated values', () => {
  userError(() => parseCliAxis('inrank.explainedRatio=0.7,high'), /'high' is not a number \(inrank\.explainedRatio takes a number\)/);
  userError(() => parseCliAxis('method=full,lowrank'), /one of full, fixed, inrank/);
  userError(() => parseCliAxis('stage.resetMoments=yes,no'), /true or false/);
  userError(() => parseCliAxis('inrank.explainedRatoi=0.7,0.8'), /unknown key 'inrank\.explainedRatoi'.*inrank\.explainedRatio/);
  userError(() => parseCliAxis('outDir=a,b'), /set by the harness/);
  userError(() => parseCliAxis('train.lr=1e-3,,2e-3'), /empty value/);
  userError(() => parseCliAxis('train.lr=1e-3,1e-3'), /listed twice/);
  userError(() => parseCliAxis('seed=1,2.5'), /whole numbers/);
  userError(() => splitAxesAndOverrides(['seed=1,2', 'train.seed=3,4']), /given twice/);
});

test('lists and ranges are axes; single values stay overrides unless the key is model, precision or seed', () => {
  assert.equal(isAxisArgument('train.lr=3e-4'), false);
  assert.equal(isAxisArgument('train.lr=3e-4,1e-3'), true);
  assert.equal(isAxisArgument('inrank.bufferModes=range(4)'), true);
  assert.equal(isAxisArgument('model=gpt2-medium'), true);
  assert.equal(isAxisArgument('data.dataDir=[1,2]'), false, 'a bracketed comma does not split');
  assert.deepEqual(splitTopLevel(`a,"b,c",(d,e),f`), ['a', '"b,c"', '(d,e)', 'f']);
  const { axes, overrides } = splitAxesAndOverrides(['train.lr=3e-4', 'inrank.explainedRatio=0.7,0.8', 'seed=1,2']);
  assert.deepEqual(overrides, ['train.lr=3e-4']);
  assert.deepEqual(axesForExpansion(axes), { axes: { 'inrank.explainedRatio': [0.7, 0.8] }, seeds: [1, 2] });
});

test('command-line axes replace the spec axis of their key, add new ones, and seeds replace the seeds', () => {
  const spec = defineSweep({ name: 'er', description: 'x', axes: { model: ['gpt2'], method: ['inrank'], 'inrank.explainedRatio': [0.5, 0.9] } });
  const runsDir = join('results', 'runs');
  const { axes, seeds } = axesForExpansion(splitAxesAndOverrides(['inrank.explainedRatio=0.7,0.8,0.9', 'inrank.bufferModes=4,6', 'seed=7,8']).axes);
  const plans = expandSweep(spec, { profile: 'smoke', runsDir, axes, seeds });
  // 3 ratios x 2 buffers x 2 seeds x 2 stages.
  assert.equal(plans.length, 24);
  const ratios = new Set(plans.map((p) => p.config.inrank.explainedRatio));
  assert.deepEqual([...ratios].sort(), [0.7, 0.8, 0.9]);
  assert.deepEqual([...new Set(plans.map((p) => p.seed))].sort(), [7, 8]);
  assert.ok(plans.some((p) => p.name === 'gpt2-inrank-fp32-er0.7-buf4-s7-stage1'), plans.map((p) => p.name).join(' '));
  // The same runs as a spec that lists them: ids come from the resolved config alone.
  const listed = defineSweep({ name: 'er', description: 'x', axes: { model: ['gpt2'], method: ['inrank'], 'inrank.explainedRatio': [0.7, 0.8, 0.9], 'inrank.bufferModes': [4, 6] }, seeds: [7, 8] });
  assert.deepEqual(expandSweep(listed, { profile: 'smoke', runsDir }).map((p) => p.id).sort(), plans.map((p) => p.id).sort());
});

test('the sweep CLI: a typed list works with --dry-run (it used to fail: expected number, received string)', () => {
  const ok = runCliSync('sweep', ['demo', '--profile', 'smoke', '--dry-run', 'inrank.explainedRatio=0.7,0.8,0.9']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /er0\.7-s1113-stage1/);
  assert.match(ok.stdout, /er0\.9-s1113-stage2/);
  assert.match(ok.stdout, /6 runs/);
  const bad = runCliSync('sweep', ['demo', '--profile', 'smoke', '--dry-run', 'inrank.explainedRatio=0.7,x']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
});

test('the sweep CLI with a search spec: --dry-run shows the space and the rungs', () => {
  const dry = runCliSync('sweep', ['search-explained-ratio', '--profile', 'cpu', '--dry-run', '--search', 'random', '--trials', '5']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /search: random over 3 setting\(s\), 5 trials, 2 at a time, seed 1113/);
  assert.match(dry.stdout, /inrank\.bufferModes: int\(3, 24\)/, 'the cpu profile scales the buffer range');
  assert.match(dry.stdout, /ASHA, rungs at 102,400 \(step 100\), 204,800 \(step 200\) tokens, the top 1\/2 continue/);
  // The search flags' mistakes are checked in-process in cli-input.test.ts.
});
