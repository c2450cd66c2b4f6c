// A sweep over real child processes (the scripted child): each way a run can end lands in the
// store with the right status, crashes are retried with backoff, divergence and user errors
// are not, and a stage 2 whose stage 1 failed is skipped with the reason.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LocalExecutor } from '../harness/schedule/local-executor.ts';
import { planSlots } from '../harness/schedule/devices.ts';
import { runSchedule } from '../harness/schedule/scheduler.ts';
import { openStore } from '../harness/store/store.ts';
import { SCRIPTED_CHILD, invocations, script } from './fixtures/harness-scripts.ts';
import { testPlan } from './fixtures/harness-plans.ts';

const dir = mkdtempSync(join(tmpdir(), 'sched-out-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('each way a child can end is stored with the right status; only crashes are retried', async () => {
  const store = openStore(join(dir, 'r.db'));
  const runsDir = join(dir, 'runs');
  const mk = (name: string, cost: number, extra: Parameters<typeof testPlan>[0]['config'] = {}) =>
    testPlan({ name, runsDir, expectedCost: cost, config: extra });
  const ok = script(mk('ok', 1), { kind: 'ok' });
  const crashOnce = script(mk('crash-once', 2), { kind: 'crash', crashAt: 2 }, { kind: 'ok' });
  const sigkillOnce = script(mk('sigkill-once', 3), { kind: 'sigkill', crashAt: 1 }, { kind: 'ok' });
  const crashAlways = script(mk('crash-always', 4), { kind: 'crash', crashAt: 1 });
  const diverge = script(mk('diverge', 5), { kind: 'diverge', crashAt: 2 });
  const userError = script(mk('user-error', 6), { kind: 'userError' });
  const stage1Bad = script(mk('s1-bad', 0.5, { method: 'inrank', stage: { kind: 'stage1' } }), { kind: 'crash', crashAt: 1 });
  const stage2Bad = script(testPlan({ name: 's2-bad', runsDir, dependsOn: stage1Bad, expectedCost: 100 }), { kind: 'ok' });
  const stage3Bad = testPlan({ name: 's3-bad', runsDir, dependsOn: stage2Bad, expectedCost: 100 });
  const stage1 = script(mk('s1', 0.6, { method: 'inrank', stage: { kind: 'stage1' } }), { kind: 'ok' });
  const stage2 = script(testPlan({ name: 's2', runsDir, dependsOn: stage1, expectedCost: 100 }), { kind: 'ok' });
  // Stage 2 listed first: it must still wait for its stage 1.
  const plans = [stage2, stage2Bad, stage3Bad, ok, crashOnce, sigkillOnce, crashAlways, diverge, userError, stage1Bad, stage1];
  const sweep = store.beginSweep('outcomes', 'test', {});
  store.addPlans(sweep, plans);
  const started: string[] = [];
  const result = await runSchedule({
    store, sweepId: sweep, plans, executor: new LocalExecutor({ trainer: SCRIPTED_CHILD }),
    slots: planSlots('cpu:2', { gpus: [], cores: 2 }), retries: 1, backoffMs: 50,
    progress: {
      sweepStarted() {}, runEvent() {}, runRetrying() {}, runWaiting() {}, runEnded() {}, close() {},
      runStarted(plan) { started.push(plan.name); },
    },
  });
  assert.equal(result.interrupted, false);
  const status = (p: { id: string }) => store.getRun(p.id)!;
  assert.equal(status(ok).status, 'done');
  assert.equal(status(ok).steps, 5);
  assert.equal(status(ok).attempts, 1);
  assert.equal(status(crashOnce).status, 'done');
  assert.equal(status(crashOnce).attempts, 2);
  assert.deepEqual(invocations(crashOnce).map((i) => i.resume), [false, true], 'the retry resumes from the checkpoint');
  assert.equal(invocations(crashOnce)[1]!.resumedFromStep, 1);
  assert.deepEqual(store.metrics(crashOnce.id, 'train').map((m) => m.step), [1, 2, 3, 4, 5]);
  assert.equal(status(sigkillOnce).status, 'done');
  assert.equal(status(sigkillOnce).attempts, 2);
  assert.equal(status(crashAlways).status, 'failed');
  assert.equal(status(crashAlways).attempts, 2, 'one retry, then failed');
  assert.match(status(crashAlways).reason!, /crashed \(exit 1\): Error: scripted crash at step 1 \(after 2 attempts\)/);
  assert.match(status(crashAlways).error!, /scripted crash at step 1/);
  assert.equal(status(diverge).status, 'diverged');
  assert.equal(status(diverge).attempts, 1, 'divergence is not retried');
  assert.match(status(diverge).reason!, /NaN/);
  assert.equal(status(userError).status, 'failed');
  assert.equal(status(userError).attempts, 1, 'a user error is not retried');
  assert.match(status(userError).reason!, /user error: scripted: bad setting/);
  assert.equal(status(stage1Bad).status, 'failed');
  assert.equal(status(stage2Bad).status, 'skipped');
  assert.match(status(stage2Bad).reason!, /prerequisite s1-bad failed/);
  assert.equal(status(stage2Bad).attempts, 0);
  assert.equal(status(stage3Bad).status, 'skipped');
  assert.match(status(stage3Bad).reason!, /prerequisite s2-bad skipped/);
  assert.equal(status(stage2).status, 'done');
  assert.equal(invocations(stage2)[0]!.stageFrom, join(stage1.config.outDir, 'pruned.ckpt'));
  assert.ok(started.indexOf('s1') < started.indexOf('s2'));
  // Longest expected chain first among the ready ones: the cheap stage 1s go before every single
  // run because their stage 2s (and s2-bad's stage 3) wait on them.
  assert.deepEqual(started.slice(0, 2), ['s1-bad', 's1']);
  // Each child on a CPU slot: its own BLAS thread count, no GPU.
  assert.equal(invocations(ok)[0]!.env.OMP_NUM_THREADS, '1');
  assert.equal(invocations(ok)[0]!.env.CUDA_VISIBLE_DEVICES, '');
  assert.ok(existsSync(join(ok.config.outDir, 'config.json')));
  assert.match(readFileSync(join(crashAlways.config.outDir, 'train.log'), 'utf8'), /scripted crash at step 1/);
  assert.equal(result.statuses.get(stage3Bad.id), 'skipped');

  // A rerun skips what is done / diverged and does not start anything already finished.
  started.length = 0;
  const again = store.beginSweep('outcomes', 'test', {});
  store.addPlans(again, [ok, diverge]);
  const second = await runSchedule({
    store, sweepId: again, plans: [ok, diverge], executor: new LocalExecutor({ trainer: SCRIPTED_CHILD }),
    slots: planSlots('cpu:2', { gpus: [], cores: 2 }),
    progress: { sweepStarted() {}, runEvent() {}, runRetrying() {}, runWaiting() {}, runEnded() {}, close() {}, runStarted(p) { started.push(p.name); } },
  });
  assert.deepEqual(started, []);
  assert.equal(second.alreadyFinished, 2);
  assert.equal(invocations(ok).length, 1);
  store.close();
});

test('a run past its timeout is stopped and failed; a child ignoring SIGTERM is killed after the grace', async () => {
  const store = openStore(join(dir, 'timeout.db'));
  const runsDir = join(dir, 'runs-timeout');
  const polite = script(testPlan({ name: 'slow-polite', runsDir }), { kind: 'ok', steps: 1000, stepMs: 20 });
  const hung = script(testPlan({ name: 'slow-hung', runsDir }), { kind: 'ok', steps: 1000, stepMs: 20, ignoreTerm: true });
  const sweep = store.beginSweep('timeout', 'test', {});
  store.addPlans(sweep, [polite, hung]);
  const t0 = performance.now();
  await runSchedule({
    store, sweepId: sweep, plans: [polite, hung], executor: new LocalExecutor({ trainer: SCRIPTED_CHILD, killGraceMs: 500 }),
    slots: planSlots('cpu:2', { gpus: [], cores: 2 }), timeoutMs: 3000, retries: 2,
  });
  const elapsed = performance.now() - t0;
  for (const p of [polite, hung]) {
    const row = store.getRun(p.id)!;
    assert.equal(row.status, 'failed');
    assert.match(row.reason!, /timed out after/);
    assert.equal(row.attempts, 1, 'a timeout is not retried');
  }
  assert.ok(store.artifacts(polite.id).some((a) => a.kind === 'interrupt'), 'the polite child checkpointed on SIGTERM');
  assert.ok(elapsed < 15_000, `took ${elapsed} ms`);
  store.close();
});
