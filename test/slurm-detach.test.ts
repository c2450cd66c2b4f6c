// --detach on a real one-node cluster: every run is submitted at once (the stage 2 held on its
// stage 1's job) and nothing is followed; a later collection stores each run's events once and
// its final status, and a second --detach submits nothing again.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isActive, squeueJobs } from '../harness/schedule/slurm/commands.ts';
import { collectSlurmRuns, submitDetached } from '../harness/schedule/slurm/detach.ts';
import { SlurmExecutor } from '../harness/schedule/slurm/executor.ts';
import { openStore } from '../harness/store/store.ts';
import { SCRIPTED_CHILD, invocations, script } from './fixtures/harness-scripts.ts';
import { testPlan } from './fixtures/harness-plans.ts';
import { ensureCluster } from './slurm-cluster-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'slurm-detach-'));
after(() => rmSync(dir, { recursive: true, force: true }));
before(ensureCluster);

const CHILD = [process.execPath, '--import', 'tsx', SCRIPTED_CHILD];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('--detach submits the whole sweep at once; a later collection stores the results once', async () => {
  const runsDir = join(dir, 'runs');
  const stage1 = script(testPlan({ name: 'd-s1', runsDir, config: { method: 'inrank', stage: { kind: 'stage1' } } }), { kind: 'ok', steps: 6, stepMs: 300 });
  const stage2 = script(testPlan({ name: 'd-s2', runsDir, dependsOn: stage1 }), { kind: 'ok', steps: 4 });
  const diverge = script(testPlan({ name: 'd-diverge', runsDir }), { kind: 'diverge', crashAt: 2 });
  const plans = [stage2, diverge, stage1];
  const store = openStore(join(dir, 'd.db'));
  const sweep = store.beginSweep('detach', 'test', {});
  store.addPlans(sweep, plans);

  // The submitting harness: a detaching executor.
  const submitted = await submitDetached(store, plans, new SlurmExecutor({ command: CHILD, detach: true }));
  assert.deepEqual(submitted.submitted.map((s) => s.name), ['d-s1', 'd-s2', 'd-diverge'], 'a prerequisite is submitted before the run that needs it');
  const s1Job = submitted.submitted[0]!.jobId;
  assert.equal(submitted.submitted[1]!.after, s1Job);
  for (const p of plans) {
    const row = store.getRun(p.id)!;
    assert.equal(row.status, 'running');
    assert.equal(row.executor, 'slurm');
    assert.match(row.job_id ?? '', /^\d+$/);
  }
  const held = (await squeueJobs([submitted.submitted[1]!.jobId])).get(submitted.submitted[1]!.jobId)!;
  assert.equal(held.reason, 'Dependency');

  // Submitting again while the jobs are queued or running submits nothing new.
  const again = await submitDetached(store, plans, new SlurmExecutor({ command: CHILD, detach: true }));
  assert.deepEqual(again.submitted, []);

  // A later harness (its store rows now belong to a process that is gone) collects as jobs end.
  store.db.prepare(`UPDATE runs SET owner_pid = 999999999`).run();
  const collector = new SlurmExecutor({ command: CHILD });
  const ids = submitted.submitted.map((s) => s.jobId);
  const deadline = Date.now() + 60_000;
  let looks = 0;
  for (;;) {
    await collectSlurmRuns(store, collector);
    looks++;
    const live = [...(await squeueJobs(ids)).values()].filter((j) => isActive(j.phase));
    const stored = plans.every((p) => store.getRun(p.id)!.status !== 'running');
    if ((live.length === 0 && stored) || Date.now() > deadline) break;
    await sleep(400);
  }
  await collectSlurmRuns(store, collector);
  assert.ok(looks > 1, 'collected while jobs were still running, too');
  for (const p of [stage1, stage2]) assert.equal(store.getRun(p.id)!.status, 'done', JSON.stringify(store.getRun(p.id)));
  assert.equal(store.getRun(diverge.id)!.status, 'diverged');
  assert.deepEqual(store.metrics(stage1.id, 'train').map((m) => m.step), [1, 2, 3, 4, 5, 6], 'each event stored once');
  assert.deepEqual(store.metrics(stage2.id, 'train').map((m) => m.step), [1, 2, 3, 4]);
  assert.equal(store.getRun(stage1.id)!.steps, 6);
  assert.equal(invocations(stage1).length, 1);
  assert.equal(invocations(stage2).length, 1);
  store.close();
});

// A trainer writes its done event before it exits, and the job stays listed as running until it
// has (a real one tears down CUDA, flushes logs): a look in between must not take the done
// event and leave the look that sees the job end without it.
test('a collection while the job outlives its done event still stores the run as done', async () => {
  const runsDir = join(dir, 'linger');
  const plan = script(testPlan({ name: 'd-linger', runsDir }), { kind: 'ok', steps: 3 });
  const lingering = ['bash', '-c', '"$@"; status=$?; sleep 2; exit $status', 'lingering-trainer', ...CHILD];
  const store = openStore(join(dir, 'linger.db'));
  store.addPlans(store.beginSweep('linger', 'test', {}), [plan]);
  const [job] = (await submitDetached(store, [plan], new SlurmExecutor({ command: lingering, detach: true }))).submitted;
  store.db.prepare(`UPDATE runs SET owner_pid = 999999999`).run();
  const collector = new SlurmExecutor({ command: lingering });
  const events = join(plan.config.outDir, 'events.jsonl');
  let looksAfterDone = 0;
  const deadline = Date.now() + 60_000;
  while (store.getRun(plan.id)!.status === 'running' && Date.now() < deadline) {
    const doneWritten = existsSync(events) && readFileSync(events, 'utf8').includes('"type":"done"');
    const active = isActive((await squeueJobs([job!.jobId])).get(job!.jobId)?.phase ?? 'unknown');
    await collectSlurmRuns(store, collector);
    if (doneWritten && active) looksAfterDone++;
    await sleep(300);
  }
  assert.ok(looksAfterDone > 0, 'collected at least once between the done event and the job\'s end');
  const row = store.getRun(plan.id)!;
  assert.equal(row.status, 'done', JSON.stringify(row));
  assert.equal(row.steps, 3);
  assert.deepEqual(store.metrics(plan.id, 'train').map((m) => m.step), [1, 2, 3]);
  store.close();
});
