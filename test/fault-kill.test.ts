// Exact event accounting (issue 19, item 4): kill -9 of the harness before a run's first
// checkpoint, then of the harness or a trainer child at a random step, then a rerun, on the real CLI and the real trainer (a stage 1 that grows and
// prunes ranks, and its stage 2). After each seed's kills the database holds every metric row
// and rank decision exactly once, equal row for row (losses, learning rates, gradient norms,
// singular values) to those of an uninterrupted reference sweep.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pidAlive } from '../harness/schedule/local-executor.ts';
import { duplicateMetrics, eventRows, readDb, runRealSweep, seeded, startRealSweep, writeDb } from './fixtures/real-sweep.ts';

const dir = mkdtempSync(join(tmpdir(), 'fault-kill-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// The demo (stage 1 + stage 2) on the smoke profile, long enough that kills land in training:
// a checkpoint every 4 steps, a validation every 5, a rank decision on every stage-1 step.
const settings = ['train.maxSteps=30', 'stage.stage1Steps=12', 'train.checkpointEvery=4', 'train.evalEvery=5'];
const args = (name: string): string[] => ['demo', '--profile', 'smoke', '--db', join(dir, `${name}.db`), '--out', join(dir, name), '--devices', 'cpu:1', '--retries', '1', ...settings];

interface Running {
  stage: string;
  steps: number;
  pid: number | null;
}

/** The runs in flight, as the database the sweep writes shows them. */
function running(db: string): Running[] {
  try {
    const rows = readDb(db, (d) => d.prepare(`SELECT stage, steps, job_id FROM runs WHERE status = 'running'`).all()) as { stage: string; steps: number | null; job_id: string | null }[];
    return rows.map((r) => ({ stage: r.stage, steps: r.steps ?? 0, pid: r.job_id && pidAlive(Number(r.job_id)) ? Number(r.job_id) : null }));
  } catch {
    return []; // not created yet
  }
}

/**
 * One sweep, killed once a run in flight matches `when`: kill -9 of the harness, or of the
 * trainer child (the harness retries it once, then it is killed too, `after` ms later).
 */
async function killedSweep(name: string, what: string, when: (r: Running) => boolean, victim: 'harness' | 'child', after: number, log: string[]): Promise<void> {
  const sweep = startRealSweep(args(name));
  let ended = false;
  void sweep.exited.then(() => (ended = true));
  let hit: Running | undefined;
  while (!ended && !(hit = running(join(dir, `${name}.db`)).find((r) => r.pid !== null && when(r)))) await new Promise((r) => setTimeout(r, 15));
  if (!hit) return void log.push(`${what}: the sweep ended first`);
  if (victim === 'child') {
    process.kill(hit.pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, after));
  }
  sweep.child.kill('SIGKILL');
  await sweep.exited;
  log.push(`${what}: kill -9 ${victim} at ${hit.stage} step ${hit.steps}`);
}

test('kill -9 of the harness and of children at random steps, over 3 seeds: every row once, equal to an uninterrupted run', { timeout: 300_000 }, async () => {
  const ref = await runRealSweep(args('ref'));
  assert.equal(ref.code, 0, ref.output);
  const expected = eventRows(join(dir, 'ref.db'));
  assert.ok(expected.ranks.length > 0 && expected.metrics.some((m) => m.includes('"valid"')), 'the reference has rank decisions and validations');
  for (const seed of [1, 2, 3]) {
    const name = `seed${seed}`;
    const random = seeded(seed);
    const log: string[] = [];
    // Before stage 1's first checkpoint: the rerun starts it from scratch (resumedFromStep null).
    await killedSweep(name, 'no checkpoint yet', (r) => r.stage === 'stage1' && r.steps >= 1 && r.steps < 4, 'harness', 0, log);
    // Then at a random step of either stage, the harness or (one draw in three) a child.
    const stage = random() < 0.5 ? 'stage1' : 'stage2';
    const step = stage === 'stage1' ? 1 + Math.floor(random() * 11) : 13 + Math.floor(random() * 17);
    const victim = random() < 0.33 ? 'child' : 'harness';
    await killedSweep(name, 'random', (r) => r.stage === stage && r.steps >= step, victim, 300 + random() * 1500, log);
    const last = await runRealSweep(args(name));
    assert.equal(last.code, 0, `${log.join('\n')}\n${last.output}`);
    const db = join(dir, `${name}.db`);
    assert.deepEqual(duplicateMetrics(db), [], `seed ${seed}: no (run, step, split) twice (${log.join('; ')})`);
    const got = eventRows(db);
    assert.deepEqual(got.statuses, expected.statuses, `seed ${seed}: same statuses and test perplexities (${log.join('; ')})`);
    assert.deepEqual(got.metrics, expected.metrics, `seed ${seed}: metric rows equal the reference's (${log.join('; ')})`);
    assert.deepEqual(got.ranks, expected.ranks, `seed ${seed}: rank decisions equal the reference's (${log.join('; ')})`);
    console.log(`seed ${seed}: ${log.join('; ')}; ${got.metrics.length} metric rows and ${got.ranks.length} rank rows as the reference`);
  }

  // A harness that died after the run's final checkpoint and before its result was stored: the
  // rerun resumes from the 'final' checkpoint and evaluates again; its rows are stored once.
  writeDb(join(dir, 'ref.db'), (d) => d.prepare(`UPDATE runs SET status = 'interrupted' WHERE stage = 'stage2'`).run());
  const again = await runRealSweep(args('ref'));
  assert.equal(again.code, 0, again.output);
  assert.deepEqual(duplicateMetrics(join(dir, 'ref.db')), [], 'the last validation and test rows are not stored twice');
  assert.deepEqual(eventRows(join(dir, 'ref.db')), expected);
});
