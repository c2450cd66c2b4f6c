// `npm run sweep -- --executor slurm --detach` and `npm run report` as a user runs them: the
// sweep submits every job (stage 2 held on its stage 1) and exits at once; once the cluster has
// run them, the report stores and shows their results; the sweep run again submits nothing.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isActive, squeueJobs } from '../harness/schedule/slurm/commands.ts';
import { openStore } from '../harness/store/store.ts';
import { runCliSync } from './fixtures/harness-cli.ts';
import { ensureCluster } from './slurm-cluster-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'slurm-detach-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
before(ensureCluster);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('--detach submits and exits; npm run report picks the results up', async () => {
  const db = join(dir, 'd.db');
  const args = ['paper-table', '--profile', 'smoke', '--filter', 'model=gpt2', '--filter', 'method=inrank', '--executor', 'slurm', '--detach', '--db', db, '--out', join(dir, 'runs')];
  const t0 = Date.now();
  const sweep = runCliSync('sweep', args);
  const submitMs = Date.now() - t0;
  assert.equal(sweep.status, 0, sweep.stderr);
  const submitted = [...sweep.stdout.matchAll(/^submitted (\S+): slurm job (\d+)(?: \(held until job (\d+) succeeds\))?$/gm)];
  assert.equal(submitted.length, 4, sweep.stdout);
  const jobOf = new Map(submitted.map((m) => [m[1]!, m[2]!]));
  for (const m of submitted.filter((m) => m[1]!.endsWith('stage2'))) {
    assert.equal(m[3], jobOf.get(m[1]!.replace(/stage2$/, 'stage1')), `${m[1]} is held on its stage 1's job`);
  }
  assert.match(sweep.stdout, /detached: 4 job\(s\) submitted/);

  // Submitting again while they are queued or running: nothing new.
  const again = runCliSync('sweep', args);
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /^submitted /m);
  assert.match(again.stdout, /detached: 0 job\(s\) submitted/);

  const ids = [...jobOf.values()];
  const deadline = Date.now() + 120_000;
  while ([...(await squeueJobs(ids)).values()].some((j) => isActive(j.phase)) && Date.now() < deadline) await sleep(500);

  const report = spawnSync(process.execPath, ['--import', 'tsx', 'harness/cli/report.ts', '--db', db, '--format', 'json'], { encoding: 'utf8' });
  assert.equal(report.status, 0, report.stderr);
  assert.match(report.stderr, /stored the results of 4 slurm job\(s\)/);
  const rows = (JSON.parse(report.stdout) as { blocks: { rows: { status: string; runIds: string[] }[] }[] }).blocks.flatMap((b) => b.rows);
  assert.equal(rows.length, 2);
  assert.ok(rows.every((r) => r.status === 'done'), JSON.stringify(rows));

  const store = openStore(db);
  const runs = store.listRuns();
  store.close();
  assert.equal(runs.length, 4);
  assert.ok(runs.every((r) => r.status === 'done' && r.executor === 'slurm' && r.steps! > 0), JSON.stringify(runs.map((r) => [r.name, r.status, r.steps])));
  // A second report finds nothing running: no Slurm command, nothing stored again.
  const quiet = spawnSync(process.execPath, ['--import', 'tsx', 'harness/cli/report.ts', '--db', db, '--format', 'json'], { encoding: 'utf8' });
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.equal(quiet.stderr, '');
  process.stdout.write(`# detach: submitted 4 jobs in ${submitMs} ms\n`);
});
