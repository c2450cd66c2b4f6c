// The report of an ablation sweep read through the store: the paper's numbers only on cells the
// paper ran, a caption saying what they are, several sweeps in one report, the sweep's note, and
// a terminal table that fits the terminal's width.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillAblationDb, fillReportDb } from './report-fixture.ts';
import { loadSweeps } from '../harness/store/sweep-read.ts';
import { buildComparison, type ComparisonTable } from '../harness/report/table.ts';
import { renderTable } from '../harness/report/format.ts';
import { paperNumbers } from '../harness/report/paper.ts';
import { buildEntries } from '../harness/report/entries.ts';
import { labelsFor } from '../harness/report/labels.ts';
import { UserError } from '../harness/contract/errors.ts';

let dir: string;
let db: string;
let table: ComparisonTable;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'report-ablation-'));
  db = join(dir, 'results.db');
  fillReportDb(db); // sweep 1: paper-table
  fillAblationDb(db, 'does a larger buffer help at a lower ratio?'); // sweep 2: ablation-grid
  table = buildComparison(loadSweeps(db, ['ablation-grid']), paperNumbers);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const rowsOf = (t: ComparisonTable) => t.blocks.flatMap((b) => b.rows);

test("the paper's number only where the paper ran the cell, with a caption giving both scales", () => {
  const rows = rowsOf(table);
  const full = rows.find((r) => r.model === 'gpt2' && r.method === 'full')!;
  assert.equal(full.paper?.ppl, 19.3, 'full rank is a cell the paper ran');
  const inrank = rows.filter((r) => r.method === 'inrank');
  assert.equal(inrank.length, 8);
  // The tiny profile's buffer is the config default (100): buffers 4 and 8 are settings the paper never ran,
  // the reused 0.9 / 8 cell included although its stored axes do not name the buffer.
  for (const r of inrank) assert.equal(r.paper, null, `${r.model} ${JSON.stringify(r.axes)}`);
  const caption = table.blocks[0]!.paperCaption!;
  assert.match(caption, /WikiText-103/);
  assert.match(caption, /profile tiny, brown, 3\.3M tokens seen per run/);
  assert.match(caption, /scales differ/);
  assert.ok(renderTable(table, 'md').includes(caption));
});

test('labels name only what varies, read from the config for a reused run', () => {
  const entries = buildEntries(loadSweeps(db, [2]));
  const labels = labelsFor(entries);
  assert.deepEqual(labels.dims, ['model', 'method', 'axis:inrank.bufferModes', 'axis:inrank.explainedRatio', 'seed']);
  const reused = entries.find((e) => e.method === 'inrank' && e.model === 'gpt2' && e.seed === 1 && !('inrank.bufferModes' in e.axes))!;
  assert.equal(labels.full(reused), 'gpt2 InRank bufferModes=8 explainedRatio=0.9 s1');
  const names = entries.map((e) => labels.full(e));
  assert.equal(new Set(names).size, names.length, 'no two runs read the same');
});

test('two sweeps, by id and by spec name, make one table; a run in both counts once', () => {
  const both = buildComparison(loadSweeps(db, [1, 'ablation-grid']), paperNumbers);
  assert.deepEqual(both.sweeps.map((s) => s.id), [1, 2]);
  const tiny = both.blocks.find((b) => b.profile === 'tiny')!;
  assert.deepEqual(tiny.axisNames, ['inrank.bufferModes', 'inrank.explainedRatio']);
  // paper-table's gpt2 full-rank runs (seeds 1, 2) are the same plans as the ablation's: one row, two seeds.
  const fulls = tiny.rows.filter((r) => r.model === 'gpt2' && r.method === 'full' && r.precision === 'fp32');
  assert.equal(fulls.length, 1);
  assert.deepEqual(fulls[0]!.seeds, [1, 2]);
  assert.match(renderTable(both, 'terminal'), /^sweeps 1 \(paper-table, done\) \+ 2 \(ablation-grid, done\)/);
  assert.throws(() => loadSweeps(db, ['nope']), (e: unknown) => e instanceof UserError && /no sweep of spec 'nope'.*specs there: ablation-grid, paper-table/.test(e.message));
});

test("the sweep's note heads the table", () => {
  assert.equal(table.sweep.note, 'does a larger buffer help at a lower ratio?');
  assert.match(renderTable(table, 'terminal'), /^sweep 2 \(ablation-grid.*\nnote \(sweep 2\): does a larger buffer help at a lower ratio\?\n/);
});

test('the terminal table fits the width: no rule between rows, columns left out and said so', () => {
  for (const width of [80, 100, 140]) {
    const text = renderTable(table, 'terminal', { width });
    const tableLines = text.split('\n').filter((l) => /^[┌│├└]/.test(l));
    for (const l of tableLines) assert.ok([...l].length <= width, `${width}: ${[...l].length} > ${width}: ${l}`);
    assert.equal(tableLines.filter((l) => l.startsWith('├')).length, 1, 'one rule, under the header');
    for (const l of text.split('\n')) assert.ok([...l].length <= width, `caption line within ${width}: ${l}`);
  }
  const narrow = renderTable(table, 'terminal', { width: 100 });
  const note = narrow.replace(/\n/g, ' ');
  assert.match(note, /\(left out to fit 100 columns: .*; --format md shows every column\)/);
  for (const said of ['precision (fp32 on every row)', 'steps (200 on every row)', 'status (done on every row)', 'FLOP speedup']) {
    assert.ok(note.includes(said), said);
  }
  assert.match(narrow, /test ppl/);
  const wide = renderTable(table, 'terminal');
  assert.doesNotMatch(wide, /left out/);
  assert.match(wide, /FLOP speedup/);
});
