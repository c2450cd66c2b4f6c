// One small sweep with the real trainer (harness/train/main.ts, smoke profile, demo spec):
// stage 1 grows and prunes, stage 2 starts from the checkpoint it handed over, and the store
// holds real events. Prints the harness's own cost per run (launch, parse, store) against it.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { planSlots } from '../harness/schedule/devices.ts';
import { LocalExecutor } from '../harness/schedule/local-executor.ts';
import { runSchedule } from '../harness/schedule/scheduler.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import { loadSpec } from '../harness/spec/load.ts';
import { openStore } from '../harness/store/store.ts';
import { decodeEvent, encodeEvent, type TrainEvent } from '../harness/contract/protocol.ts';
import { SCRIPTED_CHILD, script } from './fixtures/harness-scripts.ts';
import { testPlan } from './fixtures/harness-plans.ts';

const dir = mkdtempSync(join(tmpdir(), 'sched-real-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a real two-stage training through the scheduler, and the harness overhead beside it', async () => {
  const store = openStore(join(dir, 'r.db'));
  const plans = expandSweep(await loadSpec('demo'), { profile: 'smoke', runsDir: join(dir, 'runs') });
  assert.deepEqual(plans.map((p) => p.config.stage.kind), ['stage1', 'stage2']);
  const sweep = store.beginSweep('demo', 'smoke', {});
  store.addPlans(sweep, plans);
  const events: TrainEvent[] = [];
  const launchMs = new Map<string, number>();
  const t0 = performance.now();
  const result = await runSchedule({
    store, sweepId: sweep, plans, executor: new LocalExecutor(), slots: planSlots('cpu:1', { gpus: [], cores: 2 }), retries: 0,
    progress: {
      sweepStarted() {}, runRetrying() {}, runWaiting() {}, close() {},
      runStarted(plan) { launchMs.set(plan.id, performance.now()); },
      runEvent(_plan, e) { events.push(e); },
      runEnded(plan) { launchMs.set(plan.id, performance.now() - launchMs.get(plan.id)!); },
    },
  });
  const sweepMs = performance.now() - t0;
  const [s1, s2] = plans.map((p) => store.getRun(p.id)!);
  assert.equal(result.statuses.get(plans[0]!.id), 'done', s1!.error ?? s1!.reason ?? '');
  assert.equal(s2!.status, 'done', s2!.error ?? s2!.reason ?? '');
  const prune = events.find((e) => e.type === 'prune');
  assert.ok(prune, 'stage 1 pruned');
  assert.equal(s2!.params_mlp_start, prune.params.mlp, 'stage 2 starts from the pruned model');
  assert.ok(store.rankEvents(s1!.id).length > 0, 'rank decisions were stored');
  assert.ok(store.artifacts(s1!.id).some((a) => a.kind === 'pruned'));
  assert.ok(store.metrics(s2!.id, 'train').length > 0 && s2!.valid_ppl! > 1);
  assert.deepEqual(JSON.parse(s2!.ranks!), JSON.parse(s1!.ranks!), 'stage 2 trains at the ranks stage 1 pruned to');

  // The harness's share: launching a child that does nothing (node + tsx + protocol import),
  // and decoding + storing each event of the real run.
  const idle = script(testPlan({ name: 'idle', runsDir: join(dir, 'runs') }), { kind: 'ok', steps: 0 });
  store.addPlans(sweep, [idle]);
  const t1 = performance.now();
  await runSchedule({ store, sweepId: sweep, plans: [idle], executor: new LocalExecutor({ trainer: SCRIPTED_CHILD }), slots: planSlots('cpu:1', { gpus: [], cores: 2 }) });
  const idleLaunchMs = performance.now() - t1;
  const lines = events.map((e) => encodeEvent(e));
  const scratch = store.beginSweep('overhead', 'test', {});
  const sink = testPlan({ name: 'sink', runsDir: join(dir, 'runs') });
  store.addPlans(scratch, [sink]);
  const reps = 20;
  const t2 = performance.now();
  for (let r = 0; r < reps; r++) for (const line of lines) store.recordEvent(sink.id, decodeEvent(line)!);
  const perEventMs = (performance.now() - t2) / (reps * lines.length);
  const trainingMs = [...plans].reduce((sum, p) => sum + launchMs.get(p.id)!, 0);
  const overheadMs = plans.length * idleLaunchMs + lines.length * perEventMs;
  console.log(
    `real smoke demo (2 runs): ${(trainingMs / 1000).toFixed(1)} s launch-to-exit (sweep ${(sweepMs / 1000).toFixed(1)} s, ` +
      `trainer-reported wall ${(((s1!.wall_ms ?? 0) + (s2!.wall_ms ?? 0)) / 1000).toFixed(1)} s); harness: idle child launch ${idleLaunchMs.toFixed(0)} ms/run, ` +
      `decode+store ${(perEventMs * 1000).toFixed(0)} us/event x ${lines.length} events; overhead ${(overheadMs / 1000).toFixed(2)} s = ` +
      `${((100 * overheadMs) / trainingMs).toFixed(0)}% of the smoke runs`,
  );
  assert.ok(perEventMs < 5, `storing an event took ${perEventMs} ms`);
  store.close();
});
