// The comparison table from a database filled through the store: two seeds folded into
// mean +- std, InRank's two stages read as one, and every missing figure said in words.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fillReportDb, makePlan, play, BASE_FLOPS, FLOPS_PER_K, FULL_FLOPS, FULL_PARAMS, LAYERS, inrankParams,
} from './report-fixture.ts';
import { loadSweep } from '../harness/store/sweep-read.ts';
import { buildEntries } from '../harness/report/entries.ts';
import { buildComparison, type ComparisonRow, type ComparisonTable, type Figure } from '../harness/report/table.ts';
import { renderTable } from '../harness/report/format.ts';
import { paperNumbers } from '../harness/report/paper.ts';
import { openStore } from '../harness/store/store.ts';
import { UserError } from '../harness/contract/errors.ts';

let dir: string;
let db: string;
let table: ComparisonTable;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'report-table-'));
  db = join(dir, 'results.db');
  fillReportDb(db);
  table = buildComparison(loadSweep(db, null), paperNumbers);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function row(model: string, method: string, precision: string, er?: number, profile = 'tiny'): ComparisonRow {
  const block = table.blocks.find((b) => b.profile === profile);
  assert.ok(block, `block ${profile}`);
  const found = block.rows.filter(
    (r) => r.model === model && r.method === method && r.precision === precision && (er === undefined || r.axes['inrank.explainedRatio'] === er),
  );
  assert.equal(found.length, 1, `one row for ${model} ${method} ${precision} ${er ?? ''}`);
  return found[0]!;
}

function value(f: Figure): { mean: number; std: number | null; n: number } {
  assert.equal(f.kind, 'value', `expected a value, got ${JSON.stringify(f)}`);
  return f as { mean: number; std: number | null; n: number };
}

function note(f: Figure): string {
  assert.equal(f.kind, 'missing', `expected words, got ${JSON.stringify(f)}`);
  return (f as { note: string }).note;
}

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} != ${b}`);

test('one block per profile; rows are model x method x precision x the varied axis', () => {
  assert.deepEqual(table.blocks.map((b) => b.profile), ['tiny', 'small']);
  const tiny = table.blocks[0]!;
  assert.equal(tiny.rows.length, 10);
  assert.deepEqual(tiny.axisNames, ['inrank.explainedRatio']);
  assert.deepEqual(table.blocks[1]!.axisNames, [], 'an axis that does not vary in a block is no column');
  assert.equal(table.sweep.spec, 'paper-table');
});

test('two seeds: test perplexity as mean +- sample std; the full-rank row is its own baseline', () => {
  const full = row('gpt2', 'full', 'fp32');
  assert.deepEqual(full.seeds, [1, 2]);
  const ppl = value(full.testPpl);
  close(ppl.mean, 31, 'mean');
  close(ppl.std!, Math.SQRT2, 'std of 30 and 32');
  close(value(full.smaller).mean, 1, 'smaller');
  close(value(full.faster).mean, 1, 'faster');
  assert.equal(note(full.rankPct), 'full');
});

test('InRank: stage 1 + stage 2 time, stage 2 params and ranks, steps-weighted FLOPs', () => {
  const r = row('gpt2', 'inrank', 'fp32', 0.9);
  close(value(r.testPpl).mean, 31, 'ppl mean of 30.5 and 31.5');
  close(value(r.params).mean, inrankParams(12), 'params after pruning');
  close(value(r.smaller).mean, FULL_PARAMS / inrankParams(12), 'x smaller');
  // Seed 1: 20 s full vs 9 + 4 s; seed 2: 22 s vs 9.5 + 4.5 s (stage 2 restarted its clock).
  const faster = value(r.faster);
  close(faster.mean, (20_000 / 13_000 + 22_000 / 14_000) / 2, 'x faster');
  assert.equal(faster.n, 2);
  // Stage 1: k = 10 per layer for steps 1-65, 20 for 66-130; stage 2: k = 12 for 70 steps.
  const stage1 = BASE_FLOPS + FLOPS_PER_K * LAYERS.length * 15;
  const stage2 = BASE_FLOPS + FLOPS_PER_K * LAYERS.length * 12;
  close(value(r.flopSpeedup).mean, FULL_FLOPS / ((130 * stage1 + 70 * stage2) / 200), 'FLOP speedup');
  close(value(r.rankPct).mean, (100 * 12) / 32, 'rank % of stage 1 max rank');
  close(value(r.steps).mean, 200, 'steps of both stages');
  assert.equal(r.status, 'done');
  assert.equal(r.runIds.length, 4, 'both stages of both seeds');
});

test('stage 2 counters: continued or restarted, each stage is counted once', () => {
  const entries = buildEntries(loadSweep(db, null)).filter((e) => e.method === 'inrank' && e.model === 'gpt2' && e.explainedRatio === 0.9);
  assert.deepEqual(entries.map((e) => [e.seed, e.done?.trainMs, e.done?.steps]), [[1, 13_000, 200], [2, 14_000, 200]]);
});

test('a run in progress, a failed stage 1 with a skipped stage 2: words, not numbers', () => {
  const running = row('gpt2', 'inrank', 'fp32', 0.8);
  assert.equal(note(running.testPpl), 'running');
  assert.equal(note(running.faster), 'running');
  assert.match(running.status, /stage 2 running/);

  const skipped = row('gpt2-medium', 'inrank', 'fp32');
  assert.equal(note(skipped.testPpl), 'skipped');
  assert.equal(note(skipped.params), 'skipped');
  assert.match(skipped.status, /skipped/);
  assert.match(skipped.status, /failed/);
});

test('a diverged baseline: x faster says so; shape-derived ratios still hold', () => {
  const fixed = row('gpt2-medium', 'fixed', 'fp32');
  assert.equal(note(fixed.faster), 'baseline diverged');
  close(value(fixed.smaller).mean, FULL_PARAMS / inrankParams(16), 'params ratio from the baseline shapes');
  const diverged = row('gpt2-medium', 'full', 'fp32');
  assert.equal(note(diverged.testPpl), 'diverged');
  assert.match(diverged.status, /diverged: loss NaN/);
});

test('FLOPs of a stage 1 that grew twice: each width counted for the steps it ran', () => {
  const r = row('gpt2-medium', 'inrank', 'fp16');
  // k per layer: 10 for steps 1-30, 12 for 31-60, 16 for 61-130; stage 2 at rank 8 for 70 steps.
  const stage1 = BASE_FLOPS + (FLOPS_PER_K * LAYERS.length * (10 * 30 + 12 * 30 + 16 * 70)) / 130;
  const stage2 = BASE_FLOPS + FLOPS_PER_K * LAYERS.length * 8;
  close(value(r.flopSpeedup).mean, FULL_FLOPS / ((130 * stage1 + 70 * stage2) / 200), 'FLOP speedup against the diverged fp16 baseline');
  assert.equal(note(r.faster), 'baseline diverged');
  close(value(r.rankPct).mean, 25, 'rank 8 of 32');
});

test('no baseline in the sweep: the ratio cells say so', () => {
  const large = row('gpt2-large', 'fixed', 'fp32');
  assert.equal(note(large.smaller), 'no baseline');
  assert.equal(note(large.faster), 'no baseline');
  assert.equal(note(large.flopSpeedup), 'no baseline');
  close(value(large.testPpl).mean, 28, 'its own perplexity still shows');
});

test("the paper's numbers sit beside the measured ones; fp16 full rank shows the paper's 'diverges'", () => {
  assert.equal(row('gpt2', 'full', 'fp32').paper?.ppl, 19.3);
  assert.equal(row('gpt2', 'inrank', 'fp32', 0.9).paper?.ppl, 19.6);
  assert.equal(row('gpt2', 'inrank', 'fp32', 0.8).paper?.ppl, 20.2);
  assert.equal(row('gpt2-medium', 'inrank', 'fp16').paper?.ppl, 20.3);
  const fp16 = row('gpt2-medium', 'full', 'fp16');
  assert.equal(fp16.paper?.ppl, 'diverges');
  assert.match(fp16.status, /^diverged.*\(paper: diverges\)$/);
  assert.equal(row('gpt2', 'full', 'fp32', undefined, 'small').paper?.ppl, 19.3);
});

test('every format renders the same table', () => {
  const md = renderTable(table, 'md');
  assert.match(md, /### profile tiny/);
  assert.match(md, /\| model \| method \| precision \| inrank.explainedRatio \| test ppl \|/);
  assert.match(md, /\| gpt2 \| full rank \| fp32 \| - \| 31\.00 ± 1\.41 \| 19\.3 \|/);
  assert.equal(md.split('\n').filter((l) => l.startsWith('| gpt2')).length, 11);

  const csv = renderTable(table, 'csv').trim().split('\n');
  const fields = (line: string): string[] => line.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.slice(0, -1).map((f) => f.replace(/,$/, ''));
  const header = fields(csv[0]!);
  assert.equal(csv.length, 12, 'a header and 11 rows');
  for (const line of csv.slice(1)) assert.equal(fields(line).length, header.length, line);
  const fullLine = fields(csv[1]!);
  assert.equal(fullLine[header.indexOf('test_ppl_mean')], '31');
  assert.equal(fullLine[header.indexOf('paper_ppl')], '19.3');
  const largeLine = fields(csv.find((l) => l.includes('gpt2-large'))!);
  assert.equal(largeLine[header.indexOf('smaller_mean')], '');
  assert.equal(largeLine[header.indexOf('smaller_note')], 'no baseline');

  const json = JSON.parse(renderTable(table, 'json')) as ComparisonTable;
  assert.deepEqual(json, JSON.parse(JSON.stringify(table)));

  const term = renderTable(table, 'terminal');
  assert.match(term, /profile tiny/);
  assert.match(term, /no baseline/);
  assert.match(term, /baseline diverged/);
  assert.match(term, /31\.00 ± 1\.41/);
});

test('--sweep picks a sweep; the latest is the default; an unknown id is a user error', () => {
  const other = join(dir, 'two-sweeps.db');
  fillReportDb(other);
  const store = openStore(other);
  try {
    const plan = makePlan({ model: 'gpt2', method: 'full', precision: 'fp32', seed: 7, profile: 'later' });
    const id = store.beginSweep('demo', 'later', {});
    store.addPlans(id, [plan]);
    play(store, plan, {
      params: FULL_PARAMS, flops: FULL_FLOPS, toStep: 20, msStart: 10, msEnd: 2_000, ppl: () => 50, outcome: { status: 'done', testPpl: 50 },
    });
  } finally {
    store.close();
  }
  const latest = buildComparison(loadSweep(other, null), paperNumbers);
  assert.deepEqual(latest.blocks.map((b) => b.profile), ['later']);
  assert.equal(latest.sweep.spec, 'demo');
  const first = buildComparison(loadSweep(other, 1), paperNumbers);
  assert.deepEqual(first.blocks.map((b) => b.profile), ['tiny', 'small']);
  assert.throws(() => loadSweep(other, 99), (e: unknown) => e instanceof UserError && /sweep 99 not found/.test(e.message));
  assert.throws(() => loadSweep(join(dir, 'absent.db'), null), (e: unknown) => e instanceof UserError && /no results database/.test(e.message));
});

test('a run stored before a setting existed shows the setting\'s default in its column', () => {
  const other = join(dir, 'old-config.db');
  const store = openStore(other);
  try {
    const lagged = makePlan({ model: 'gpt2', method: 'inrank', precision: 'fp32', seed: 3 });
    lagged.config.inrank.determinationLag = 1;
    lagged.axes['inrank.determinationLag'] = 1;
    lagged.id = 'lagged0000000001';
    const older = makePlan({ model: 'gpt2', method: 'inrank', precision: 'fp32', seed: 3 });
    const { determinationLag: _gone, ...inrankBefore } = older.config.inrank;
    (older.config as { inrank: unknown }).inrank = inrankBefore; // as an earlier version stored it
    const id = store.beginSweep('ablation-determination-lag', 'tiny', {});
    store.addPlans(id, [older, lagged]);
    for (const plan of [older, lagged]) {
      play(store, plan, {
        params: FULL_PARAMS, flops: FULL_FLOPS, toStep: 20, msStart: 10, msEnd: 2_000, ppl: () => 50, outcome: { status: 'done', testPpl: 50 },
      });
    }
  } finally {
    store.close();
  }
  const block = buildComparison(loadSweep(other, null), paperNumbers).blocks[0]!;
  assert.deepEqual(block.axisNames, ['inrank.determinationLag']);
  assert.deepEqual(block.rows.map((r) => r.axes['inrank.determinationLag']).sort(), [0, 1]);
});
