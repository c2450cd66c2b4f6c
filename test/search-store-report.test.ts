// A search's stored state as the user reads it: `show` ranks the trials (pruned and failed ones
// after the scored ones) and the report's trials chart marks the pruned ones apart.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { describeSearch, rankTrials } from '../harness/cli/describe-search.ts';
import { renderCharts } from '../harness/report/charts.ts';
import { makeReport } from '../harness/report/report.ts';
import { trialsChart } from '../harness/report/chart-trials.ts';
import { defineSweep } from '../harness/spec/define.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import { resolveSearch, uniform } from '../harness/spec/search-space.ts';
import { addTrial, findSearch, finishTrial, openSearch, recordRung, rungValues, searchTrials, trialsOfSweep } from '../harness/store/search-store.ts';
import { openStore } from '../harness/store/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'search-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('trials, rungs and decisions round-trip; show ranks them; the trials chart marks the pruned', async () => {
  const store = openStore(join(dir, 'r.db'));
  const spec = defineSweep({ name: 'tiny', description: 'x', axes: { model: ['gpt2'], method: ['full'] }, search: { space: { 'train.lr': uniform(1e-3, 1e-2) }, trials: 4 } });
  const search = resolveSearch(spec.search!);
  const sweepId = store.beginSweep('tiny', 'smoke', {});
  const row = openSearch(store, { key: 'k1', spec: 'tiny', profile: 'smoke', strategy: search.strategy, seed: search.seed, settings: search });
  assert.equal(openSearch(store, { key: 'k1', spec: 'tiny', profile: 'smoke', strategy: 'tpe', seed: 0, settings: search }).id, row.id, 'the same key is the same search');
  const outcomes = [
    { status: 'done' as const, value: 210, tokens: 1024, note: null },
    { status: 'pruned' as const, value: null, tokens: 512, note: 'pruned by ASHA' },
    { status: 'done' as const, value: 190, tokens: 1024, note: null },
    { status: 'failed' as const, value: null, tokens: 128, note: 'crashed' },
  ];
  outcomes.forEach((o, i) => {
    const plans = expandSweep(spec, { profile: 'smoke', runsDir: dir, axes: { 'train.lr': [0.001 * (i + 1)] } });
    store.addPlans(sweepId, plans);
    addTrial(store, { searchId: row.id, trial: i, params: { 'train.lr': 0.001 * (i + 1) }, runIds: plans.map((p) => p.id), basis: Math.max(0, i - 1), reason: 'test' });
    recordRung(store, { search_id: row.id, trial: i, rung: 0, tokens: 512, run_id: plans[0]!.id, step: 4, value: 300 + i, decision: i === 1 ? 'prune' : 'continue', reason: 'r' });
    finishTrial(store, row.id, i, o);
  });
  assert.deepEqual(rungValues(store, row.id, 0, [0, 2]), [300, 302]);
  assert.deepEqual(rankTrials(searchTrials(store, row.id), 'minimize').map((t) => t.trial), [2, 0, 1, 3]);
  assert.deepEqual(rankTrials(searchTrials(store, row.id), 'maximize').map((t) => t.trial), [0, 2, 1, 3]);
  assert.equal(findSearch(store, 'tiny')?.id, row.id);
  assert.equal(findSearch(store, String(sweepId))?.id, row.id);
  assert.equal(findSearch(store, 'other'), undefined);
  const text = describeSearch(store, row);
  assert.match(text, /best test_ppl 190\.00 \(trial 2\); 4 trials: 2 done, 1 pruned, 1 failed/);
  assert.ok(text.indexOf('│ 1    │ 2 ') < text.indexOf('│ 2    │ 0 '), text);

  const charts = trialsChart(trialsOfSweep(store.db, sweepId));
  assert.equal(charts.length, 1);
  assert.equal(charts[0]!.kind, 'trials');
  assert.equal(charts[0]!.points, 3, 'two scored trials and the pruned one (at its rung); the failed one has no value');
  const [rendered] = await renderCharts(charts);
  assert.match(rendered!.svg!, /pruned \(valid ppl at its rung\)/);
  store.close();

  // The report reads the trials through the store (sweep-read) and gives the chart its own section.
  const html = join(dir, 'report.html');
  const report = await makeReport({ db: join(dir, 'r.db'), sweeps: [sweepId], format: 'csv', html, static: true });
  assert.deepEqual(report.charts.filter((c) => c.kind === 'trials').map((c) => c.points), [3]);
  assert.match(readFileSync(html, 'utf8'), /<h2>Search trials<\/h2>/);
});
