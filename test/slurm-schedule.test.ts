// The scheduler on an executor whose cluster holds dependencies (Slurm, afterok): a stage 2 is
// handed over while its stage 1 still runs, and the ways that can go wrong end as they do on the
// local executor: a stage 1 that fails leaves its stage 2 skipped (never run); a stage 1 that
// crashes and is retried in a new job still gets its stage 2 run after it.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runSchedule } from '../harness/schedule/scheduler.ts';
import { SlurmExecutor, slurmSlots } from '../harness/schedule/slurm/executor.ts';
import { openStore } from '../harness/store/store.ts';
import { SCRIPTED_CHILD, invocations, script } from './fixtures/harness-scripts.ts';
import { testPlan } from './fixtures/harness-plans.ts';
import { ensureCluster } from './slurm-cluster-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'slurm-schedule-'));
after(() => rmSync(dir, { recursive: true, force: true }));
before(ensureCluster);

const CHILD = [process.execPath, '--import', 'tsx', SCRIPTED_CHILD];

test('early stage 2: skipped when its stage 1 fails; run after a stage 1 that needed a retry', async () => {
  const runsDir = join(dir, 'runs');
  const stage1 = (name: string) => testPlan({ name, runsDir, config: { method: 'inrank', stage: { kind: 'stage1' } } });
  const failing = script(stage1('fail-s1'), { kind: 'userError', stepMs: 300 });
  const failingS2 = script(testPlan({ name: 'fail-s2', runsDir, dependsOn: failing }), { kind: 'ok' });
  const flaky = script(stage1('flaky-s1'), { kind: 'crash', crashAt: 2, stepMs: 300 }, { kind: 'ok' });
  const flakyS2 = script(testPlan({ name: 'flaky-s2', runsDir, dependsOn: flaky }), { kind: 'ok' });
  const plans = [failing, failingS2, flaky, flakyS2];

  const store = openStore(join(dir, 's.db'));
  const sweepId = store.beginSweep('early', 'test', {});
  store.addPlans(sweepId, plans);
  const result = await runSchedule({
    store, sweepId, plans, slots: slurmSlots(plans.length), retries: 1, backoffMs: 50,
    executor: new SlurmExecutor({ command: CHILD, pollMs: 200, exitFileWaitMs: 5000 }),
  });
  const status = Object.fromEntries([...result.statuses].map(([id, s]) => [plans.find((p) => p.id === id)!.name, s]));
  assert.deepEqual(status, { 'fail-s1': 'failed', 'fail-s2': 'skipped', 'flaky-s1': 'done', 'flaky-s2': 'done' });
  assert.match(store.getRun(failingS2.id)!.reason ?? '', /^prerequisite fail-s1 failed/);
  assert.equal(invocations(failingS2).length, 0, 'the held stage 2 never ran');
  // Both stage 2 jobs were handed to the cluster while their stage 1 ran (held on it).
  for (const p of [failingS2, flakyS2]) assert.match(readFileSync(join(p.config.outDir, 'train.log'), 'utf8'), /submitted slurm job \d+ \(afterok:\d+\)/);
  assert.equal(invocations(flaky).length, 2);
  assert.equal(invocations(flakyS2).length, 1, 'the stage 2 ran once, after the retried stage 1');
  assert.ok((store.getRun(flakyS2.id)!.steps ?? 0) > 0, 'the stage 2 stored its training');
  store.close();
});
