// Nothing lost on Slurm (a real one-node cluster, the scripted child as the trainer): a
// restarted harness reattaches to a running job and stores each event once; a job cancelled
// with scancel is recorded as interrupted and resumed from its checkpoint on the rerun; a job
// whose node failed is submitted again and resumes.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runSchedule } from '../harness/schedule/scheduler.ts';
import { slurmSlots } from '../harness/schedule/slurm/executor.ts';
import { openStore } from '../harness/store/store.ts';
import type { TrainEvent } from '../harness/contract/protocol.ts';
import { invocations, script } from './fixtures/harness-scripts.ts';
import { testPlan } from './fixtures/harness-plans.ts';
import { ensureCluster, launchRequest, quietProgress, scriptedSlurm } from './slurm-cluster-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'slurm-resume-'));
after(() => rmSync(dir, { recursive: true, force: true }));
before(ensureCluster);

const executor = scriptedSlurm;
const quiet = quietProgress;
const request = launchRequest;

test('a restarted harness reattaches to the running job and stores each event once', async () => {
  const runsDir = join(dir, 'reattach');
  const plan = script(testPlan({ name: 'long', runsDir }), { kind: 'ok', steps: 8, stepMs: 300 });
  const first = executor();
  const stop = new AbortController();
  const events: TrainEvent[] = [];
  const firstResult = first.launch(
    request(plan, events, {
      signal: stop.signal,
      onEvent: (e) => {
        events.push(e);
        // The harness "dies" after two steps: it leaves the job running.
        if (e.type === 'step' && e.step === 2) {
          first.leaveRunning();
          stop.abort();
        }
      },
    }),
  );
  const left = await firstResult;
  assert.equal(left.detached, true);
  const jobId = left.jobId!;
  assert.equal(await first.isAlive({ jobId, runDir: plan.config.outDir }), true);

  const second = executor();
  let secondJob = '';
  const result = await second.launch(request(plan, events, { onJob: (id) => (secondJob = id) }));
  assert.equal(secondJob, jobId, 'no second job was submitted');
  assert.equal(result.exitCode, 0);
  assert.equal(invocations(plan).length, 1, 'the trainer ran once');
  assert.deepEqual(events.filter((e) => e.type === 'step').map((e) => (e as { step: number }).step), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(events.filter((e) => e.type === 'start').length, 1);
  assert.equal(events.filter((e) => e.type === 'done').length, 1);
});

test('scancel of a running job is recorded as interrupted and the rerun resumes it from its checkpoint', async () => {
  const runsDir = join(dir, 'cancel');
  const plan = script(testPlan({ name: 'cancelled', runsDir }), { kind: 'ok', steps: 10, stepMs: 300 });
  const store = openStore(join(dir, 'cancel.db'));
  const sweep = store.beginSweep('cancel', 'test', {});
  store.addPlans(sweep, [plan]);
  const run = (onEvent: (e: TrainEvent) => void) =>
    runSchedule({
      store, sweepId: sweep, plans: [plan], executor: executor(), slots: slurmSlots(1), retries: 0, backoffMs: 50,
      progress: { ...quiet, runEvent: (_p, e) => onEvent(e) },
    });
  let cancelled = false;
  await run((e) => {
    if (e.type === 'step' && e.step === 3 && !cancelled) {
      cancelled = true;
      execFileSync('scancel', [store.getRun(plan.id)!.job_id!]);
    }
  });
  const stopped = store.getRun(plan.id)!;
  assert.equal(stopped.status, 'interrupted');
  assert.ok(stopped.steps! >= 3 && stopped.steps! < 10, `stopped early (step ${stopped.steps})`);
  await run(() => {});
  const resumed = store.getRun(plan.id)!;
  assert.equal(resumed.status, 'done');
  assert.equal(resumed.steps, 10);
  const calls = invocations(plan);
  assert.equal(calls.length, 2);
  assert.equal(calls[1]!.resume, true);
  assert.ok(calls[1]!.resumedFromStep! >= 3, 'the second job continued from the checkpoint');
  assert.deepEqual(store.metrics(plan.id, 'train').map((m) => m.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  store.close();
});

test('Ctrl-C that cancels: the job is scancelled, its trainer checkpoints, the launch ends interrupted', async () => {
  const runsDir = join(dir, 'abort');
  const plan = script(testPlan({ name: 'aborted', runsDir }), { kind: 'ok', steps: 20, stepMs: 300 });
  const stop = new AbortController();
  const events: TrainEvent[] = [];
  const result = await executor().launch(
    request(plan, events, {
      signal: stop.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'step' && e.step === 2) stop.abort();
      },
    }),
  );
  assert.equal(result.cancelled, true);
  assert.equal(result.detached, false);
  assert.equal(result.exitCode, 4, 'the trainer exits as interrupted');
  assert.match(result.jobState ?? '', /^CANCELLED/);
  assert.ok(events.some((e) => e.type === 'checkpoint' && e.kind === 'interrupt'));
  assert.ok(events.filter((e) => e.type === 'step').length < 20);
});

test('a job ended by a node failure is submitted again and resumes from its checkpoint', async () => {
  const runsDir = join(dir, 'node-fail');
  const plan = script(testPlan({ name: 'node-fail', runsDir }), { kind: 'ok', steps: 8, stepMs: 300 });
  // No requeue by Slurm itself (which delays a requeued job by minutes): the executor resubmits.
  const ex = executor({ extraArgs: ['--no-requeue'] });
  const events: TrainEvent[] = [];
  const jobs: string[] = [];
  let failed = false;
  try {
    const result = await ex.launch(
      request(plan, events, {
        onJob: (id) => jobs.push(id),
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'step' && e.step === 2 && !failed) {
            failed = true;
            execFileSync('scontrol', ['update', 'nodename=localhost', 'state=down', 'reason=slurm-resume test']);
            setTimeout(resumeNode, 1500);
          }
        },
      }),
    );
    assert.equal(result.exitCode, 0);
    assert.equal(result.submissions, 2);
    assert.equal(jobs.length, 2);
    assert.notEqual(jobs[0], jobs[1]);
    const calls = invocations(plan);
    assert.equal(calls.length, 2);
    assert.equal(calls[1]!.resume, true);
    assert.ok(calls[1]!.resumedFromStep! >= 2, 'the second job continued from the checkpoint');
    // The first job's trainer got SIGTERM as its node went down: it checkpointed and said so.
    assert.deepEqual(events.filter((e) => e.type === 'done').map((e) => (e as { status: string }).status), ['interrupted', 'done']);
    assert.equal(events.filter((e) => e.type === 'start').length, 2);
  } finally {
    resumeNode();
  }
});

/** Brings the node back; ReturnToService may have done it already, and then scontrol refuses. */
function resumeNode(): void {
  try {
    execFileSync('scontrol', ['update', 'nodename=localhost', 'state=resume'], { stdio: 'ignore' });
  } catch {
    // already up
  }
}
