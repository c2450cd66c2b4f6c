// A database written before train.decayEmbeddings, model.activation and inrank.countEvalPasses
// existed stays readable: the report and `show` give its runs the settings they ran with (the
// old behaviour, not today's reference defaults), a resumed one trains on with them, and new runs beside them keep theirs.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../harness/store/store.ts';
import { loadSweep } from '../harness/store/sweep-read.ts';
import { buildComparison } from '../harness/report/table.ts';
import { paperNumbers } from '../harness/report/paper.ts';
import { renderTable } from '../harness/report/format.ts';
import { describeRun } from '../harness/cli/describe-run.ts';
import { readStoredConfig } from '../harness/contract/stored-config.ts';
import { launchConfig } from '../harness/schedule/run-lifecycle.ts';
import type { RunPlan } from '../harness/spec/plan.ts';
import { makePlan, play, TOTAL_STEPS } from './report-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'report-old-configs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The plan's config as the harness stored it before the three settings existed. */
function oldShaped(plan: RunPlan): RunPlan {
  const c = structuredClone(plan.config) as unknown as Record<string, Record<string, unknown>>;
  delete c.train!.decayEmbeddings;
  delete c.model!.activation;
  delete c.inrank!.countEvalPasses;
  return { ...plan, id: `old-${plan.id}`.slice(0, 16), config: c as unknown as RunPlan['config'] };
}

test('readStoredConfig: missing settings read as the old behaviour, present ones as stored', () => {
  const old = readStoredConfig({ method: 'inrank', model: { nEmbd: 64 } });
  assert.deepEqual(
    [(old.train as { decayEmbeddings: boolean }).decayEmbeddings, (old.model as { activation: string }).activation, (old.inrank as { countEvalPasses: boolean }).countEvalPasses],
    [true, 'gelu-tanh', false],
  );
  assert.equal((old.model as { nEmbd: number }).nEmbd, 64);
  const now = readStoredConfig({ train: { decayEmbeddings: false }, model: { activation: 'reference' }, inrank: { countEvalPasses: true } });
  assert.deepEqual([(now.train as { decayEmbeddings: boolean }).decayEmbeddings, (now.model as { activation: string }).activation], [false, 'reference']);
  // A config the schema refuses is returned, not thrown.
  assert.equal((readStoredConfig({ model: { nEmbd: 'wide' } }).model as unknown as { nEmbd: string }).nEmbd, 'wide');
});

test('an old-shaped stored config: the report and show read it with the settings it ran with', () => {
  const db = join(dir, 'old.db');
  const store = openStore(db);
  const fresh = makePlan({ model: 'gpt2', method: 'full', precision: 'fp32', seed: 1 });
  const old = oldShaped(makePlan({ model: 'gpt2', method: 'inrank', precision: 'fp32', seed: 1 }));
  // A new run that varies the activation, so the report has the column; the old run's cell shows what it ran with.
  const forced = makePlan({ model: 'gpt2', method: 'inrank', precision: 'fp32', seed: 1 });
  forced.config.model.activation = 'gelu-exact';
  const varied = { ...forced, id: 'exact-run-00001', name: `${forced.name}-exact`, axes: { ...forced.axes, 'model.activation': 'gelu-exact' } };
  const sweepId = store.beginSweep('paper-table', 'tiny', { filters: [] });
  store.addPlans(sweepId, [fresh, old, varied]);
  for (const [plan, testPpl] of [[fresh, 30], [old, 33], [varied, 31]] as const) {
    play(store, plan, {
      params: 500_000, flops: 1e6, toStep: TOTAL_STEPS, msStart: 100, msEnd: 20_000,
      ppl: () => testPpl, outcome: { status: 'done', testPpl },
    });
  }
  const stored = store.getRun(old.id)!;
  assert.ok(!stored.config.includes('decayEmbeddings'), 'the row is stored old-shaped');
  const shown = describeRun(store, stored, 5);
  assert.match(shown, /it ran with train\.decayEmbeddings=true, model\.activation=gelu-tanh, inrank\.countEvalPasses=false/);
  assert.doesNotMatch(describeRun(store, store.getRun(fresh.id)!, 5), /stored before these settings existed/);
  store.close();

  const table = buildComparison(loadSweep(db, sweepId), paperNumbers);
  const block = table.blocks[0]!;
  assert.ok(block.axisNames.includes('model.activation'));
  const inrank = block.rows.filter((r) => r.method === 'inrank');
  assert.deepEqual(inrank.map((r) => r.axes['model.activation']).sort(), ['gelu-exact', 'gelu-tanh']);
  const oldRow = inrank.find((r) => r.axes['model.activation'] === 'gelu-tanh')!;
  assert.equal(oldRow.testPpl.kind === 'value' && oldRow.testPpl.mean, 33);
  assert.match(renderTable(table, 'md'), /gelu-tanh/);
});

test('an old-shaped stored run that is resumed gets the settings it started with, not the new defaults', () => {
  const store = openStore(join(dir, 'resume.db'));
  const old = oldShaped(makePlan({ model: 'gpt2', method: 'inrank', precision: 'fp32', seed: 1 }));
  store.addPlans(store.beginSweep('paper-table', 'tiny', { filters: [] }), [old]);
  const config = launchConfig(store, { ...store.getRun(old.id)!, attempts: 1 });
  assert.deepEqual([config.train.decayEmbeddings, config.model.activation, config.inrank.countEvalPasses, config.resume], [true, 'gelu-tanh', false, true]);
  store.close();
});
