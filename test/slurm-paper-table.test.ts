// The paper's table (smoke profile, model gpt2: full, fixed and two InRank stage 1 -> stage 2
// pairs) run by the real trainer through the real CLI, `npm run sweep paper-table -- --profile
// smoke --executor slurm`, on a real one-node Slurm cluster, against the same command on the
// local executor: `npm run report` gives the same rows, runs and statuses, the runs the same
// steps and losses, and every stage 2 job was submitted while its stage 1 still ran, held on
// its stage 1's job (afterok) by the cluster.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readJobRecord } from '../harness/schedule/slurm/job-file.ts';
import { openStore } from '../harness/store/store.ts';
import { REPO } from './fixtures/harness-cli.ts';
import { ensureCluster } from './slurm-cluster-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'slurm-paper-'));
after(() => rmSync(dir, { recursive: true, force: true }));
before(ensureCluster);

// One model of the table keeps the test near a minute on a 2-core machine; the other models
// only repeat the same pipelines at other sizes.
const FILTER = 'model=gpt2';

function cli(name: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'harness', 'cli', `${name}.ts`), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

async function sweep(name: string, extra: string[]) {
  const db = join(dir, `${name}.db`);
  const r = await cli('sweep', ['paper-table', '--profile', 'smoke', '--filter', FILTER, '--db', db, '--out', join(dir, name), ...extra]);
  assert.equal(r.code, 0, r.output);
  const report = await cli('report', ['--db', db, '--format', 'json']);
  assert.equal(report.code, 0, report.output);
  const store = openStore(db);
  const rows = store.sweepRuns(store.latestSweep()!.id);
  store.close();
  return { output: r.output, rows, report: JSON.parse(report.output) as { blocks: { rows: ReportRow[] }[] } };
}

interface ReportRow {
  model: string;
  method: string;
  precision: string;
  runIds: string[];
  status: string;
  steps: { mean?: number };
  testPpl: { mean?: number };
}

/** [start of the job, its end, its submission] in seconds, from the controller. */
function jobTimes(jobId: string): { submit: number; start: number; end: number } {
  const text = execFileSync('scontrol', ['show', 'job', jobId], { encoding: 'utf8' });
  const at = (key: string) => Date.parse(new RegExp(`${key}=(\\S+)`).exec(text)![1]!) / 1000;
  return { submit: at('SubmitTime'), start: at('StartTime'), end: at('EndTime') };
}

test('npm run sweep paper-table --executor slurm: the same report as locally; stage 2 held by the cluster', async () => {
  const local = await sweep('local', ['--devices', 'cpu:2']);
  const slurm = await sweep('slurm', ['--executor', 'slurm', '--slurm-poll-ms', '300']);
  assert.match(slurm.output, /executor: slurm, one batch job per run/);

  // The report: same rows, same runs, same statuses and steps, the same perplexities.
  const rowsOf = (r: typeof local.report) => r.blocks.flatMap((b) => b.rows);
  const [lr, sr] = [rowsOf(local.report), rowsOf(slurm.report)];
  assert.ok(lr.length >= 3, `local report has ${lr.length} rows`);
  const key = (r: ReportRow) => ({ model: r.model, method: r.method, precision: r.precision, runIds: r.runIds, status: r.status, steps: r.steps.mean });
  assert.deepEqual(sr.map(key), lr.map(key));
  for (const [i, row] of sr.entries()) {
    const [a, b] = [row.testPpl.mean, lr[i]!.testPpl.mean];
    assert.ok(a !== undefined && b !== undefined && Math.abs(a - b) < 1e-3 * b, `${row.method}: test ppl ${a} on Slurm vs ${b} locally`);
  }

  // The runs: six (two of them stage 2), all done, the same steps and losses.
  assert.equal(local.rows.length, 6);
  assert.equal(slurm.rows.length, local.rows.length);
  const view = (rows: typeof local.rows) => rows.map((r) => ({ id: r.id, name: r.name, status: r.status, steps: r.steps, stage: r.stage }));
  assert.deepEqual(view(slurm.rows), view(local.rows));
  assert.ok(slurm.rows.every((r) => r.status === 'done'), JSON.stringify(slurm.rows.map((r) => [r.name, r.status, r.reason])));
  for (const [i, row] of slurm.rows.entries()) {
    assert.equal(row.executor, 'slurm');
    assert.equal(local.rows[i]!.executor, 'local');
    const twin = local.rows[i]!;
    for (const k of ['train_loss', 'valid_loss'] as const) {
      const [a, b] = [row[k], twin[k]];
      assert.ok(a === b || (a !== null && b !== null && Math.abs(a - b) < 1e-4), `${row.name}: ${k} ${a} on Slurm vs ${b} locally`);
    }
  }

  // Each stage 2 job was submitted with --dependency=afterok:<its stage 1's job>, before that
  // job ended, and started only after it: the cluster held it, not the harness.
  const stage2 = slurm.rows.filter((r) => r.stage === 'stage2');
  assert.equal(stage2.length, 2);
  for (const row of stage2) {
    const stage1 = slurm.rows.find((r) => r.id === row.depends_on)!;
    const s1Job = readJobRecord(stage1.run_dir)!.jobId;
    assert.equal(stage1.job_id, s1Job);
    assert.match(readFileSync(join(row.run_dir, 'train.log'), 'utf8'), new RegExp(`submitted slurm job ${row.job_id} \\(afterok:${s1Job}\\)`));
    const [t1, t2] = [jobTimes(s1Job), jobTimes(row.job_id!)];
    assert.ok(t2.submit < t1.end, `stage 2 job ${row.job_id} submitted at ${t2.submit}, before its stage 1 job ${s1Job} ended at ${t1.end}`);
    assert.ok(t2.start >= t1.end, `stage 2 job ${row.job_id} started at ${t2.start}, after its stage 1 job ended at ${t1.end}`);
  }
});
