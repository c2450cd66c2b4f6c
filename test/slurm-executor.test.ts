// The Slurm executor on a real one-node cluster (scripts/slurm-cluster.sh), with the scripted
// child as the trainer: a sweep ends with the same statuses as on the local executor, and a
// stage 2 is held by the cluster (afterok) until its stage 1 succeeds.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LocalExecutor } from '../harness/schedule/local-executor.ts';
import { planSlots } from '../harness/schedule/devices.ts';
import { runSchedule } from '../harness/schedule/scheduler.ts';
import { squeueJobs } from '../harness/schedule/slurm/commands.ts';
import { slurmSlots } from '../harness/schedule/slurm/executor.ts';
import { readJobRecord } from '../harness/schedule/slurm/job-file.ts';
import type { RunPlan } from '../harness/spec/plan.ts';
import { openStore } from '../harness/store/store.ts';
import { UserError } from '../harness/contract/errors.ts';
import type { TrainEvent } from '../harness/contract/protocol.ts';
import { SCRIPTED_CHILD, invocations, script } from './fixtures/harness-scripts.ts';
import { testPlan } from './fixtures/harness-plans.ts';
import { ensureCluster, launchRequest, quietProgress, scriptedSlurm } from './slurm-cluster-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'slurm-exec-'));
after(() => rmSync(dir, { recursive: true, force: true }));
before(ensureCluster);

const executor = scriptedSlurm;
const quiet = quietProgress;
const request = launchRequest;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The same sweep of scripted runs, planned into its own folder. */
function sweepPlans(runsDir: string): RunPlan[] {
  const mk = (name: string, config: Parameters<typeof testPlan>[0]['config'] = {}) => testPlan({ name, runsDir, config });
  const ok = script(mk('ok'), { kind: 'ok' });
  const crashOnce = script(mk('crash-once'), { kind: 'crash', crashAt: 2 }, { kind: 'ok' });
  const diverge = script(mk('diverge'), { kind: 'diverge', crashAt: 2 });
  const userError = script(mk('user-error'), { kind: 'userError' });
  const stage1 = script(mk('s1', { method: 'inrank', stage: { kind: 'stage1' } }), { kind: 'ok' });
  const stage2 = script(testPlan({ name: 's2', runsDir, dependsOn: stage1, expectedCost: 100 }), { kind: 'ok' });
  return [stage2, ok, crashOnce, diverge, userError, stage1];
}

test('a sweep on Slurm ends with the same run count and statuses as on the local executor', async () => {
  const outcome = async (name: string, run: (plans: RunPlan[], store: ReturnType<typeof openStore>, sweep: number) => Promise<unknown>) => {
    const store = openStore(join(dir, `${name}.db`));
    const plans = sweepPlans(join(dir, name));
    const sweep = store.beginSweep('slurm-compare', 'test', {});
    store.addPlans(sweep, plans);
    await run(plans, store, sweep);
    const rows = store.sweepRuns(sweep).map((r) => ({ name: r.name, status: r.status, steps: r.steps, executor: r.executor }));
    const jobs = store.sweepRuns(sweep).map((r) => r.job_id);
    store.close();
    return { rows, jobs, plans };
  };
  const local = await outcome('local', (plans, store, sweepId) =>
    runSchedule({ store, sweepId, plans, executor: new LocalExecutor({ trainer: SCRIPTED_CHILD }), slots: planSlots('cpu:2', { gpus: [], cores: 2 }), retries: 1, backoffMs: 50, progress: quiet }),
  );
  const slurm = await outcome('slurm', (plans, store, sweepId) =>
    runSchedule({ store, sweepId, plans, executor: executor(), slots: slurmSlots(plans.length), retries: 1, backoffMs: 50, progress: quiet }),
  );
  assert.equal(slurm.rows.length, local.rows.length);
  assert.deepEqual(
    slurm.rows.map(({ name, status, steps }) => ({ name, status, steps })),
    local.rows.map(({ name, status, steps }) => ({ name, status, steps })),
  );
  assert.deepEqual(
    Object.fromEntries(slurm.rows.map((r) => [r.name, r.status])),
    { s2: 'done', ok: 'done', 'crash-once': 'done', diverge: 'diverged', 'user-error': 'failed', s1: 'done' },
  );
  assert.ok(slurm.rows.every((r) => r.executor === 'slurm'));
  // Stored job ids are Slurm's, and each job ran as the run's name with the run id as comment.
  const known = await squeueJobs(slurm.jobs.filter((j): j is string => j !== null));
  assert.equal(known.size, slurm.plans.length);
  for (const plan of slurm.plans) {
    const job = [...known.values()].find((j) => j.comment === plan.id);
    assert.ok(job, `a job carries run id ${plan.id}: ${JSON.stringify([...known.values()])}`);
    assert.equal(job.name, plan.name);
  }
  // The stage 2 job was submitted with its stage 1's job as afterok dependency.
  const s2 = slurm.plans[0]!;
  const s1 = slurm.plans[5]!;
  assert.match(readFileSync(join(s2.config.outDir, 'train.log'), 'utf8'), new RegExp(`afterok:${readJobRecord(s1.config.outDir)!.jobId}\\b`));
});

test('a stage 2 handed over early is held by the cluster until its stage 1 succeeds', async () => {
  const runsDir = join(dir, 'held');
  const stage1 = script(testPlan({ name: 'held-s1', runsDir, config: { method: 'inrank', stage: { kind: 'stage1' } } }), { kind: 'ok', steps: 6, stepMs: 400 });
  const stage2 = script(testPlan({ name: 'held-s2', runsDir, dependsOn: stage1 }), { kind: 'ok' });
  const ex = executor();
  let s1Job = '';
  const s1Events: TrainEvent[] = [];
  const first = ex.launch(request(stage1, s1Events, { onJob: (id) => (s1Job = id) }));
  while (!s1Job) await sleep(50);
  let s2Job = '';
  const s2Events: TrainEvent[] = [];
  const second = ex.launch(request(stage2, s2Events, { onJob: (id) => (s2Job = id) }));
  while (!s2Job) await sleep(50);
  const held = (await squeueJobs([s2Job])).get(s2Job)!;
  assert.equal(held.phase, 'queued');
  assert.equal(held.reason, 'Dependency');
  assert.match(held.dependency ?? '', new RegExp(`^afterok:${s1Job}\\b`));
  const [r1, r2] = await Promise.all([first, second]);
  assert.equal(r1.exitCode, 0);
  assert.equal(r2.exitCode, 0);
  assert.equal(s2Events.filter((e) => e.type === 'done').length, 1);
  // The stage 2 child found its stage 1's checkpoint: it started after stage 1 ended.
  assert.equal(invocations(stage2)[0]!.stageFrom, stage2.config.stage.from);

  // A stage 1 that fails leaves its stage 2 never runnable: the executor cancels it and says why.
  const bad1 = script(testPlan({ name: 'bad-s1', runsDir, config: { method: 'inrank', stage: { kind: 'stage1' } } }), { kind: 'userError' });
  const bad2 = script(testPlan({ name: 'bad-s2', runsDir, dependsOn: bad1 }), { kind: 'ok' });
  let bad1Job = '';
  const b1 = ex.launch(request(bad1, [], { onJob: (id) => (bad1Job = id) }));
  while (!bad1Job) await sleep(50);
  const b2 = await ex.launch(request(bad2, []));
  assert.equal((await b1).exitCode, 2);
  assert.match(b2.launchError ?? '', /ended without success/);
  assert.equal(invocations(bad2).length, 0, 'the held stage 2 never ran');
});


test('options the cluster refuses are one user error before anything is submitted; a refused job fails to start', async () => {
  await executor().checkOptions();
  await assert.rejects(executor({ partition: 'no-such-partition' }).checkOptions(), (e: unknown) => e instanceof UserError && /invalid partition/i.test(e.message) && !e.message.includes('\n'));
  // This test cluster has no GPUs: a job asking for one is refused by sbatch.
  const plan = script(testPlan({ name: 'refused', runsDir: join(dir, 'refused') }), { kind: 'ok' });
  const result = await executor({ gpus: 1 }).launch(request(plan, []));
  assert.equal(result.jobId, null);
  assert.match(result.launchError ?? '', /^sbatch: .*(gres|generic resource)/i);
  assert.equal(invocations(plan).length, 0);
});
