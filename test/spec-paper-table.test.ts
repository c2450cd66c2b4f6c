// The paper-table spec on the paper profile has exactly the paper's cells, and paper-numbers
// has every cell the report looks up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { paperCell, paperCellKey, paperNumbers } from '../experiments/paper-numbers.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import { loadSpec } from '../harness/spec/load.ts';

test("paper-table on the paper profile: exactly the paper's cells, one run (or stage pair) each", async () => {
  const plans = expandSweep(await loadSpec('paper-table'), { profile: 'paper', runsDir: 'results/runs' });
  const cells = new Map<string, string[]>();
  for (const p of plans) {
    const key = paperCellKey({ model: p.config.model.name, method: p.config.method, precision: p.config.precision.kind, explainedRatio: p.config.inrank.explainedRatio });
    cells.set(key, [...(cells.get(key) ?? []), p.config.stage.kind]);
  }
  assert.deepEqual([...cells.keys()].sort(), paperNumbers.map(paperCellKey).sort());
  for (const [key, stages] of cells) {
    assert.deepEqual(stages, key.includes('/inrank/') ? ['stage1', 'stage2'] : ['single'], key);
  }
  for (const p of plans) {
    assert.equal(p.seed, 1113);
    assert.equal(p.config.train.maxEpochs, 100);
    assert.equal(p.config.train.globalBatch, 512);
    if (p.config.method === 'fixed') assert.equal(p.config.train.maxSteps, null, 'the fixed-rank baseline trains the full budget');
  }
  const fp16 = plans.filter((p) => p.config.precision.kind === 'fp16').map((p) => p.config.model.name);
  assert.ok(!fp16.includes('gpt2'), 'the paper ran fp16 for medium and large only');
});

test('paper numbers: the table as data, looked up by cell', () => {
  assert.equal(paperNumbers.length, 14);
  assert.equal(paperCell({ model: 'gpt2', method: 'full', precision: 'fp32' })?.ppl, 19.3);
  assert.equal(paperCell({ model: 'gpt2', method: 'inrank', precision: 'fp32', explainedRatio: 0.8 })?.ppl, 20.2);
  assert.equal(paperCell({ model: 'gpt2', method: 'inrank', precision: 'fp32' })?.ppl, 19.6);
  const large16 = paperCell({ model: 'gpt2-large', method: 'inrank', precision: 'fp16', explainedRatio: 0.9 });
  assert.deepEqual([large16?.ppl, large16?.smaller, large16?.faster], [20.5, 3.5, 2.2]);
  assert.equal(paperCell({ model: 'gpt2-medium', method: 'full', precision: 'fp16' })?.ppl, 'diverges');
  assert.equal(paperCell({ model: 'gpt2', method: 'full', precision: 'fp16' }), undefined);
  assert.equal(paperCell({ model: 'gpt2-medium', method: 'fixed', precision: 'fp32', explainedRatio: 0.9 })?.ppl, 20.5, 'full / fixed ignore the ratio');
});
