// The paper's table (smoke profile, the gpt2 InRank pipelines: two stage 1 -> stage 2 pairs) run
// by the real trainer on a real one-node Slurm cluster, through the same sweep driver the CLI
// uses, against the same runs on the local executor: the same runs end with the same statuses,
// steps and losses, and every stage 2 job was submitted held on its stage 1's job (afterok).
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { planSlots } from '../harness/schedule/devices.ts';
import { LocalExecutor } from '../harness/schedule/local-executor.ts';
import { runSweep } from '../harness/schedule/run-sweep.ts';
import { SlurmExecutor, slurmSlots } from '../harness/schedule/slurm-executor.ts';
import { readJobRecord } from '../harness/schedule/slurm-job-file.ts';
import type { Executor, Slot } from '../harness/schedule/executor.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import { loadSpec } from '../harness/spec/load.ts';
import { openStore } from '../harness/store/store.ts';
import { ensureCluster } from './slurm-cluster-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'slurm-paper-'));
after(() => rmSync(dir, { recursive: true, force: true }));
before(ensureCluster);

const FILTERS = ['model=gpt2', 'method=inrank'];

async function sweep(name: string, executor: (count: number) => { executor: Executor; slots: Slot[] }) {
  const spec = await loadSpec('paper-table');
  const plans = expandSweep(spec, { profile: 'smoke', overrides: [], filters: FILTERS, runsDir: join(dir, name), dataDir: null });
  const store = openStore(join(dir, `${name}.db`));
  const { executor: ex, slots } = executor(plans.length);
  const summary = await runSweep({ store, spec: 'paper-table', profile: 'smoke', args: { filters: FILTERS }, plans, executor: ex, slots, retries: 0 });
  const rows = store.sweepRuns(summary.sweepId);
  store.close();
  return { summary, rows, plans };
}

test('the smoke paper-table runs on Slurm with the same runs and statuses as locally; stage 2 waits on the cluster', async () => {
  const local = await sweep('local', () => ({ executor: new LocalExecutor(), slots: planSlots('cpu:2', { gpus: [], cores: 2 }) }));
  const slurm = await sweep('slurm', (n) => ({ executor: new SlurmExecutor({ pollMs: 300 }), slots: slurmSlots(n) }));

  assert.equal(local.rows.length, 4);
  assert.equal(slurm.rows.length, local.rows.length);
  const view = (rows: typeof local.rows) => rows.map((r) => ({ name: r.name, status: r.status, steps: r.steps, stage: r.stage }));
  assert.deepEqual(view(slurm.rows), view(local.rows));
  assert.ok(slurm.rows.every((r) => r.status === 'done'), JSON.stringify(slurm.rows.map((r) => [r.name, r.status, r.reason])));
  assert.equal(slurm.summary.exitCode, 0);
  // Same seed, same trainer, same machine: the same training.
  for (const [i, row] of slurm.rows.entries()) {
    assert.equal(row.executor, 'slurm');
    const twin = local.rows[i]!;
    for (const key of ['train_loss', 'valid_loss'] as const) {
      const [a, b] = [row[key], twin[key]];
      assert.ok(a === b || (a !== null && b !== null && Math.abs(a - b) < 1e-4), `${row.name}: ${key} ${a} on Slurm vs ${b} locally`);
    }
    assert.ok(row.train_loss !== null, `${row.name} stored its training loss`);
  }
  // Each stage 2 job was submitted with its stage 1's job as its afterok dependency.
  const stage2 = slurm.rows.filter((r) => r.stage === 'stage2');
  assert.equal(stage2.length, 2);
  for (const row of stage2) {
    const stage1 = slurm.rows.find((r) => r.id === row.depends_on)!;
    const s1Job = readJobRecord(stage1.run_dir)!.jobId;
    assert.equal(stage1.job_id, s1Job);
    assert.match(readFileSync(join(row.run_dir, 'train.log'), 'utf8'), new RegExp(`submitted slurm job ${row.job_id} \\(afterok:${s1Job}\\)`));
  }
});
