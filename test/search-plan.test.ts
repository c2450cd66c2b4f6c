// From a spec's search block to a search plan: one run chain per trial, ASHA's rungs and the
// validation cadence they need, and the key that names the search (more trials: the same search).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../harness/contract/errors.ts';
import { planSearch } from '../harness/search/plan-search.ts';
import { defineSweep } from '../harness/spec/define.ts';
import { expandSweep, type ExpandOptions } from '../harness/spec/expand.ts';
import { uniform, type SearchSpec } from '../harness/spec/search-space.ts';

const runsDir = join('results', 'runs');
const make = (search: Partial<SearchSpec>, axes: Record<string, unknown[]> = { model: ['gpt2'], method: ['inrank'] }) =>
  defineSweep({ name: 's', description: 'x', axes, search: { space: { 'inrank.explainedRatio': uniform(0.5, 0.95) }, trials: 4, ...search } } as never);
const plan = (spec: ReturnType<typeof make>, flags = {}, extra: Partial<ExpandOptions> = {}) => {
  const opts: ExpandOptions = { profile: 'smoke', runsDir, ...extra };
  return planSearch(spec, flags, opts, expandSweep(spec, opts));
};

test('a trial is one chain: stage 1 + stage 2 with the drawn values; two models per trial are refused', () => {
  const p = plan(make({}))!;
  const runs = p.expand({ 'inrank.explainedRatio': 0.71 });
  assert.deepEqual(runs.map((r) => r.config.stage.kind), ['stage1', 'stage2']);
  assert.ok(runs.every((r) => r.config.inrank.explainedRatio === 0.71));
  assert.match(runs[0]!.name, /er0\.71/);
  assert.throws(() => plan(make({}, { model: ['gpt2', 'gpt2-medium'], method: ['inrank'] })), (e: unknown) => e instanceof UserError && /give 2 per trial/.test(e.message));
  assert.throws(() => defineSweep({ name: 's', description: 'x', axes: { 'inrank.explainedRatio': [0.5] }, search: { space: { 'inrank.explainedRatio': uniform(0.5, 0.9) }, trials: 2 } }), /is also an axis/);
  assert.throws(() => defineSweep({ name: 's', description: 'x', axes: {}, search: { space: { 'inrank.explainedRatoi': uniform(0.5, 0.9) } as never, trials: 2 } }), /unknown setting.*inrank\.explainedRatio/);
  assert.throws(() => defineSweep({ name: 's', description: 'x', axes: {}, search: { space: { method: uniform(0, 1) } as never, trials: 2 } }), /needs a numeric setting/);
});

test('ASHA: rungs within the budget, validations moved onto them, errors in one line', () => {
  const p = plan(make({ earlyStop: { kind: 'asha' } }))!;
  assert.deepEqual(p.rungs, [512], 'smoke: 8 steps of 128 tokens; the first rung at step 4');
  assert.equal(p.evalEvery, 4);
  assert.equal(p.expand({}).at(-1)!.config.train.evalEvery, 4, 'the profile cadence already fits');
  const odd = plan(make({ earlyStop: { kind: 'asha', minTokens: 384, reductionFactor: 2 } }))!;
  assert.deepEqual(odd.rungs, [384, 768]);
  assert.equal(odd.evalEvery, 1, 'steps 3 and 6 need validations every step');
  assert.equal(odd.expand({}).at(-1)!.config.train.evalEvery, 1);
  assert.throws(() => plan(make({ earlyStop: { kind: 'asha', minTokens: 5000 } })), /first rung .* past a trial's budget/);
  assert.throws(() => plan(make({ earlyStop: { kind: 'asha' } }), {}, { overrides: ['train.maxSteps=null'] }), /ASHA needs a token budget/);
  assert.equal(plan(make({ earlyStop: { kind: 'asha' } }), { earlyStop: 'none' })!.asha, null, '--early-stop none');
  assert.deepEqual(plan(make({}), { earlyStop: 'asha' })!.rungs, [512], '--early-stop asha without a block');
});

test('the search key: more trials continue the same search; seed, strategy or settings make another', () => {
  const key = (search: Partial<SearchSpec>, flags = {}, extra: Partial<ExpandOptions> = {}) => plan(make(search), flags, extra)!.key;
  const k = key({ seed: 1 });
  assert.equal(key({ seed: 1, trials: 40, startupTrials: 3 }), k, 'the same startup: the budget is not part of the identity');
  assert.notEqual(key({ seed: 1, trials: 40 }), k, "a larger spec budget has a longer random start (a quarter of it)");
  assert.equal(key({ seed: 1 }, { trials: 9 }), k);
  assert.notEqual(key({ seed: 2 }), k);
  assert.notEqual(key({ seed: 1 }, { strategy: 'random' }), k);
  assert.notEqual(key({ seed: 1, maxParallel: 3 }), k);
  assert.notEqual(key({ seed: 1 }, {}, { overrides: ['train.lr=1e-3'] }), k, 'another setting is another search');
});
