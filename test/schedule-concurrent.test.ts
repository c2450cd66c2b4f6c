// Two sweeps started at once on one fresh database file both succeed (WAL, busy timeout,
// migrations under an IMMEDIATE lock), and the run they share is trained once.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore } from '../harness/store/store.ts';
import { startSweep, writeSpec } from './fixtures/harness-cli.ts';
import { invocations } from './fixtures/harness-scripts.ts';

const dir = mkdtempSync(join(tmpdir(), 'sched-conc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('two sweeps writing one database at once both succeed; a shared run is trained once', async () => {
  const specs = join(dir, 'specs');
  writeSpec(specs, 'left', `{ description: 'seeds 1, 2', axes: { model: ['gpt2'], method: ['full'] }, seeds: [1, 2] }`);
  writeSpec(specs, 'right', `{ description: 'seeds 2, 3', axes: { model: ['gpt2'], method: ['full'] }, seeds: [2, 3] }`);
  const db = join(dir, 'shared.db');
  const args = (spec: string) => [spec, '--specs-dir', specs, '--profile', 'smoke', '--db', db, '--out', join(dir, 'runs'), '--devices', 'cpu:2'];
  // Every step is a stored event: enough steps that the two harnesses write at the same time.
  const behaviour = [{ kind: 'ok' as const, steps: 150, stepMs: 10 }];
  const a = startSweep(args('left'), behaviour);
  const b = startSweep(args('right'), behaviour);
  const [codeA, codeB] = await Promise.all([a.exited, b.exited]);
  assert.equal(codeA, 0, a.output());
  assert.equal(codeB, 0, b.output());

  const store = openStore(db);
  const runs = store.listRuns();
  assert.equal(runs.length, 3, 'seed 2 is one run shared by both sweeps');
  assert.ok(runs.every((r) => r.status === 'done' && r.steps === 150));
  for (const r of runs) {
    assert.equal(invocations({ config: { outDir: r.run_dir } } as Parameters<typeof invocations>[0]).length, 1, `${r.name} trained once`);
    assert.equal(store.metrics(r.id, 'train').length, 150);
  }
  const sweeps = store.listSweeps();
  assert.deepEqual(sweeps.map((s) => s.status), ['done', 'done']);
  assert.deepEqual(sweeps.map((s) => store.sweepRuns(s.id).length), [2, 2]);
  store.close();
});
