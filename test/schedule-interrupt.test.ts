// Nothing lost: Ctrl-C (SIGINT) to a real sweep process stops its real children gracefully
// (they checkpoint; runs end 'interrupted') and the rerun resumes them from their checkpoints.
// kill -9 of the sweep: the rerun finds the orphaned 'running' rows, kills the surviving
// children, and resumes the runs from what the store holds.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pidAlive } from '../harness/schedule/local-executor.ts';
import { openStore } from '../harness/store/store.ts';
import { startSweep, waitFor, writeSpec, type SweepProcess } from './fixtures/harness-cli.ts';
import { invocations } from './fixtures/harness-scripts.ts';

const dir = mkdtempSync(join(tmpdir(), 'sched-int-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const specs = join(dir, 'specs');
writeSpec(specs, 'two', `{ description: 'two runs', axes: { model: ['gpt2'], method: ['full'] }, seeds: [1, 2] }`);

const slow = [{ kind: 'ok' as const, steps: 400, stepMs: 25 }];
const fast = [{ kind: 'ok' as const, steps: 400, stepMs: 1 }];

function sweepArgs(name: string): string[] {
  return ['two', '--specs-dir', specs, '--profile', 'smoke', '--db', join(dir, `${name}.db`), '--out', join(dir, name), '--devices', 'cpu:2'];
}

/** Both runs of the sweep are past step 3 (read from the database the sweep is writing). */
function bothTraining(db: string, sweep: SweepProcess): () => boolean {
  return () => {
    if (sweep.child.exitCode !== null) throw new Error(`the sweep ended early:\n${sweep.output()}`);
    const store = openStore(db);
    try {
      const rows = store.listRuns();
      return rows.length === 2 && rows.every((r) => r.status === 'running' && (r.steps ?? 0) >= 3);
    } finally {
      store.close();
    }
  };
}

function planOf(runDir: string) {
  return { config: { outDir: runDir } } as Parameters<typeof invocations>[0];
}

test('Ctrl-C: children checkpoint, runs end interrupted; the rerun resumes them', async () => {
  const db = join(dir, 'int.db');
  const first = startSweep(sweepArgs('int'), slow);
  await waitFor('both runs training', bothTraining(db, first));
  first.child.kill('SIGINT');
  assert.equal(await first.exited, 130, first.output());
  const store = openStore(db);
  const runs = store.listRuns();
  assert.deepEqual(runs.map((r) => r.status), ['interrupted', 'interrupted'], first.output());
  for (const r of runs) {
    assert.ok(store.artifacts(r.id).some((a) => a.kind === 'interrupt'), 'the child wrote its interrupt checkpoint');
  }
  assert.equal(store.latestSweep()!.status, 'interrupted');
  store.close();

  const second = startSweep(sweepArgs('int'), fast);
  assert.equal(await second.exited, 0, second.output());
  const after = openStore(db);
  for (const r of after.listRuns()) {
    assert.equal(r.status, 'done');
    assert.equal(r.attempts, 2);
    const inv = invocations(planOf(r.run_dir));
    assert.deepEqual(inv.map((i) => i.resume), [false, true]);
    assert.ok((inv[1]!.resumedFromStep ?? 0) >= 3, 'resumed from the checkpoint, not from scratch');
    const steps = after.metrics(r.id, 'train').map((m) => m.step);
    assert.deepEqual(steps, Array.from({ length: 400 }, (_, i) => i + 1), 'no step lost or stored twice');
  }
  after.close();
});

test('kill -9 of the sweep: the rerun recovers the orphans and resumes them', async () => {
  const db = join(dir, 'kill.db');
  const first = startSweep(sweepArgs('kill'), slow);
  await waitFor('both runs training', bothTraining(db, first));
  first.child.kill('SIGKILL');
  await first.exited;
  const store = openStore(db);
  const orphans = store.listRuns();
  assert.deepEqual(orphans.map((r) => r.status), ['running', 'running']);
  const childPids = orphans.map((r) => Number(r.job_id));
  assert.ok(childPids.every((pid) => pidAlive(pid)), 'the children outlived their harness');
  store.close();

  const second = startSweep(sweepArgs('kill'), fast);
  assert.equal(await second.exited, 0, second.output());
  assert.equal(second.output().match(/recovered .*: left running by a harness that is gone/g)?.length, 2, second.output());
  assert.ok(childPids.every((pid) => !pidAlive(pid)), 'the surviving children were stopped before the resume');
  // The orphans trained on after their harness died: their checkpoints are ahead of the stored
  // events, so each is set aside and the run trains again from its last stored point (here the
  // start: the scripted child keeps one checkpoint), every step stored once.
  assert.equal(second.output().match(/is ahead of the stored events/g)?.length, 2, second.output());
  const after = openStore(db);
  for (const r of after.listRuns()) {
    assert.equal(r.status, 'done');
    const inv = invocations(planOf(r.run_dir));
    assert.equal(inv.length, 3);
    assert.equal(inv[1]!.resume, true);
    assert.ok((inv[1]!.resumedFromStep ?? 0) >= 3);
    assert.equal(inv[2]!.resumedFromStep, null);
    assert.deepEqual(after.metrics(r.id, 'train').map((m) => m.step), Array.from({ length: 400 }, (_, i) => i + 1), 'no step lost or stored twice');
  }
  assert.deepEqual(after.listSweeps().map((s) => s.status), ['interrupted', 'done'], 'the dead sweep is closed as interrupted');
  after.close();
});
