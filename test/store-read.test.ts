// The store's typed read side: a run's config comes back parsed with today's defaults filled
// once. A config an older version stored (a setting it did not have yet, a key since renamed)
// still reads, with its stored settings, not today's defaults, where it had them.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { RunConfig } from '../harness/contract/config.ts';
import { DEFAULT_RUN_CONFIG, readStoredConfig } from '../harness/contract/stored-config.ts';
import { loadSweep } from '../harness/store/sweep-read.ts';
import { openStore } from '../harness/store/store.ts';
import { makePlan } from './report-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'store-read-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('runs come back with their config parsed and defaults filled; an older shape keeps its stored settings', () => {
  const db = join(dir, 'r.db');
  const current = makePlan({ model: 'gpt2', method: 'inrank', precision: 'fp32', seed: 1, er: 0.8 });
  const old = makePlan({ model: 'gpt2', method: 'inrank', precision: 'fp32', seed: 2, er: 0.7 });
  // As an older version wrote it: no determinationLag / determinationWorkers yet, and a key
  // this version's schema does not know.
  const { determinationLag: _lag, determinationWorkers: _workers, ...oldInrank } = old.config.inrank;
  old.config = { ...old.config, inrank: { ...oldInrank, retiredKnob: 3 } } as unknown as RunConfig;
  const store = openStore(db);
  try {
    const sweepId = store.beginSweep('read', 'test', {});
    store.addPlans(sweepId, [current, old]);
  } finally {
    store.close();
  }

  const [a, b] = loadSweep(db, null).runs;
  assert.equal(a!.config.inrank.explainedRatio, 0.8);
  assert.deepEqual(a!.config, readStoredConfig(JSON.stringify(current.config)), 'a current config parses as it is');
  assert.equal(b!.config.inrank.explainedRatio, 0.7, 'the stored setting, not the default');
  assert.equal(b!.config.inrank.initModes, old.config.inrank.initModes);
  assert.equal(b!.config.inrank.determinationLag, DEFAULT_RUN_CONFIG.inrank.determinationLag, 'a missing setting takes its default');
  assert.equal(b!.config.train.seed, 2);
  assert.equal((b!.config.inrank as unknown as Record<string, unknown>).retiredKnob, 3, 'what the run stored is shown, not dropped');
});

test('a stored config missing whole groups reads with every default', () => {
  const config = readStoredConfig('{"method":"fixed","model":{"nEmbd":96}}');
  assert.equal(config.method, 'fixed');
  assert.equal(config.model.nEmbd, 96);
  assert.equal(config.model.nLayer, DEFAULT_RUN_CONFIG.model.nLayer);
  assert.equal(config.inrank.explainedRatio, DEFAULT_RUN_CONFIG.inrank.explainedRatio);
  assert.deepEqual(readStoredConfig(''), DEFAULT_RUN_CONFIG);
});
