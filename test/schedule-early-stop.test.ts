// The scheduler's early-stop hook over real child processes (the scripted child): a run the hook
// stops gets SIGTERM, checkpoints and ends 'pruned' (not failed, not retried), its stage 2 is
// pruned with it, and a later sweep without early stopping (a grid) resumes it to the end.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { planSlots } from '../harness/schedule/devices.ts';
import { LocalExecutor } from '../harness/schedule/local-executor.ts';
import { runSchedule } from '../harness/schedule/scheduler.ts';
import { openStore } from '../harness/store/store.ts';
import { SCRIPTED_CHILD, invocations, script } from './fixtures/harness-scripts.ts';
import { testPlan } from './fixtures/harness-plans.ts';

const dir = mkdtempSync(join(tmpdir(), 'sched-stop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a run stopped by the early-stop hook ends pruned with its curve; a grid resumes it', async () => {
  const store = openStore(join(dir, 'r.db'));
  const runsDir = join(dir, 'runs');
  const stage1 = script(testPlan({ name: 's1', runsDir, config: { method: 'inrank', stage: { kind: 'stage1' } } }), { kind: 'ok', steps: 200, stepMs: 20 }, { kind: 'ok', steps: 6 });
  const stage2 = script(testPlan({ name: 's2', runsDir, dependsOn: stage1 }), { kind: 'ok', steps: 6 });
  const other = script(testPlan({ name: 'other', runsDir }), { kind: 'ok', steps: 6 });
  const plans = [stage1, stage2, other];
  const executor = new LocalExecutor({ trainer: SCRIPTED_CHILD });
  const slots = planSlots('cpu:2', { gpus: [], cores: 2 });
  const seen: number[] = [];
  const sweep = store.beginSweep('search', 'test', {});
  store.addPlans(sweep, plans);
  const result = await runSchedule({
    store, sweepId: sweep, plans, executor, slots, retries: 2, backoffMs: 50,
    earlyStop: {
      onEvent(plan, event) {
        if (plan.id !== stage1.id || event.type !== 'step') return null;
        seen.push(event.step);
        return event.step === 3 ? 'losing at step 3' : null;
      },
    },
  });
  assert.equal(result.interrupted, false);
  const s1 = store.getRun(stage1.id)!;
  assert.equal(s1.status, 'pruned');
  assert.equal(s1.reason, 'losing at step 3');
  assert.equal(s1.attempts, 1, 'not retried');
  assert.ok(store.artifacts(stage1.id).some((a) => a.kind === 'interrupt'), 'the child checkpointed on SIGTERM');
  assert.ok(store.metrics(stage1.id, 'train').length >= 3, 'its curve is kept');
  assert.ok(seen.filter((s) => s >= 3).length <= 3, `the run stopped soon after the decision (steps seen ${seen})`);
  assert.equal(store.getRun(stage2.id)!.status, 'pruned');
  assert.match(store.getRun(stage2.id)!.reason!, /its stage 1 s1 was pruned/);
  assert.equal(invocations(stage2).length, 0, 'stage 2 never started');
  assert.equal(store.getRun(other.id)!.status, 'done');
  assert.deepEqual(result.statuses.get(stage1.id), 'pruned');

  // The same runs in a grid (no early stopping): the pruned run resumes from its checkpoint.
  const grid = store.beginSweep('grid', 'test', {});
  store.addPlans(grid, plans);
  await runSchedule({ store, sweepId: grid, plans, executor, slots, retries: 0 });
  assert.equal(store.getRun(stage1.id)!.status, 'done');
  assert.deepEqual(invocations(stage1).map((i) => i.resume), [false, true]);
  assert.equal(store.getRun(stage2.id)!.status, 'done');
  store.close();
});
