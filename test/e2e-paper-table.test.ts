// The whole system, end to end: the paper's table on the smoke profile through the real CLIs
// (sweep -> trainer children -> SQLite -> report), checked the way a researcher reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../harness/store/store.ts';
import { paperNumbers } from '../experiments/paper-numbers.ts';
import type { ComparisonTable } from '../harness/report/table.ts';

const root = join(import.meta.dirname, '..');

function cli(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'harness/cli', script), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 8 * 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('paper-table on the smoke profile: every cell trained, reported, InRank smaller, stage 2 on the pruned ranks', { timeout: 9 * 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-paper-table-'));
  const db = join(dir, 'results.db');
  const t0 = Date.now();
  const sweep = cli('sweep.ts', ['paper-table', '--profile', 'smoke', '--db', db, '--out', join(dir, 'runs')]);
  const seconds = (Date.now() - t0) / 1000;
  console.log(`# smoke paper-table: ${seconds.toFixed(1)} s`);
  assert.equal(sweep.status, 0, `sweep failed:\n${sweep.stdout.slice(-2000)}\n${sweep.stderr.slice(-2000)}`);
  assert.match(sweep.stdout, /profile smoke/);

  const out = join(dir, 'report.json');
  const report = cli('report.ts', ['--db', db, '--format', 'json', '--out', out]);
  assert.equal(report.status, 0, report.stderr);
  const table = JSON.parse(readFileSync(out, 'utf8')) as ComparisonTable;
  assert.equal(table.blocks.length, 1);
  const rows = table.blocks[0]!.rows;

  // Every cell of the paper's table is there, with a measured perplexity and a finished status.
  assert.equal(rows.length, paperNumbers.length);
  for (const cell of paperNumbers) {
    const row = rows.find(
      (r) =>
        r.model === cell.model &&
        r.method === cell.method &&
        r.precision === cell.precision &&
        (cell.method !== 'inrank' || (r.axes['inrank.explainedRatio'] ?? 0.9) === (cell.explainedRatio ?? 0.9)),
    );
    assert.ok(row, `no row for ${JSON.stringify(cell)}`);
    assert.match(row.status, /^(done|diverged)/, `${row.model} ${row.method} ${row.precision}: ${row.status}`);
    if (row.status.startsWith('done')) assert.equal(row.testPpl.kind, 'value');
  }

  // InRank ends smaller than the full-rank model of the same size and precision.
  for (const row of rows.filter((r) => r.method === 'inrank')) {
    const full = rows.find((r) => r.method === 'full' && r.model === row.model && r.precision === row.precision);
    assert.ok(full && full.params.kind === 'value' && row.params.kind === 'value');
    assert.ok(row.params.mean < full.params.mean, `${row.model} ${row.precision}: ${row.params.mean} >= ${full.params.mean}`);
    assert.ok(row.smaller.kind === 'value' && row.smaller.mean > 1);
  }

  // Each stage 2 trained at exactly the ranks its stage 1 pruned to, loaded from that checkpoint.
  const store = openStore(db);
  try {
    const runs = store.listRuns();
    const stage2s = runs.filter((r) => r.stage === 'stage2');
    assert.equal(stage2s.length, 6);
    for (const s2 of stage2s) {
      const s1 = runs.find((r) => r.id === s2.depends_on);
      assert.ok(s1 && s1.status === 'done' && s2.status === 'done');
      assert.ok(s1.ranks && s2.ranks);
      assert.deepEqual(JSON.parse(s2.ranks), JSON.parse(s1.ranks));
      const pruned = store.artifacts(s1.id).find((a) => a.kind === 'pruned');
      assert.ok(pruned, `${s1.name} recorded no pruned checkpoint`);
      assert.equal((JSON.parse(s2.config) as { stage: { from: string } }).stage.from, pruned.path);
      assert.ok(store.rankEvents(s1.id).length > 0, `${s1.name} made no rank determination`);
    }
  } finally {
    store.close();
  }
});
