// Exact event accounting (issue 19, item 4): kill -9 of the harness or of a trainer child at
// random moments, then a rerun, on the real CLI and the real trainer (a stage 1 that grows and
// prunes ranks, and its stage 2). After each seed's kills the database holds every metric row
// and rank decision exactly once, equal row for row (losses, learning rates, gradient norms,
// singular values) to those of an uninterrupted reference sweep.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pidAlive } from '../harness/schedule/local-executor.ts';
import { duplicateMetrics, eventRows, readDb, runRealSweep, seeded, startRealSweep } from './fixtures/real-sweep.ts';

const dir = mkdtempSync(join(tmpdir(), 'fault-kill-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// The demo (stage 1 + stage 2) on the smoke profile, long enough that kills land in training:
// a checkpoint every 3 steps, a validation every 5, a rank decision on every stage-1 step.
const settings = ['train.maxSteps=30', 'stage.stage1Steps=12', 'train.checkpointEvery=3', 'train.evalEvery=5'];
const args = (name: string): string[] => ['demo', '--profile', 'smoke', '--db', join(dir, `${name}.db`), '--out', join(dir, name), '--devices', 'cpu:1', '--retries', '1', ...settings];

/** The pid of a trainer child the harness has in flight, if any (its job id). */
function childPid(db: string): number | null {
  try {
    const row = readDb(db, (d) => d.prepare(`SELECT job_id FROM runs WHERE status = 'running' AND job_id IS NOT NULL`).get()) as { job_id: string } | undefined;
    const pid = Number(row?.job_id);
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : null;
  } catch {
    return null; // not created yet
  }
}

/** One sweep killed at a random moment: the harness itself, or (odd draws) its trainer child. */
async function killedSweep(name: string, random: () => number, log: string[]): Promise<void> {
  const db = join(dir, `${name}.db`);
  const sweep = startRealSweep(args(name));
  const ms = 300 + random() * 3700;
  const victim = random() < 0.35 ? 'child' : 'harness';
  const ended = await Promise.race([sweep.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  if (ended) return void log.push(`${ms.toFixed(0)} ms: sweep had ended`);
  const pid = victim === 'child' ? childPid(db) : null;
  if (pid !== null) {
    process.kill(pid, 'SIGKILL');
    log.push(`${ms.toFixed(0)} ms: kill -9 child ${pid}`);
    // The harness retries the crash once (--retries 1), then this sweep is killed too.
    await new Promise((r) => setTimeout(r, 300 + random() * 1700));
  }
  sweep.child.kill('SIGKILL');
  await sweep.exited;
  log.push(`${ms.toFixed(0)} ms: kill -9 harness`);
}

test('kill -9 of the harness and of children at random moments, over 3 seeds: every row once, equal to an uninterrupted run', { timeout: 300_000 }, async () => {
  const ref = await runRealSweep(args('ref'));
  assert.equal(ref.code, 0, ref.output);
  const expected = eventRows(join(dir, 'ref.db'));
  assert.ok(expected.ranks.length > 0 && expected.metrics.some((m) => m.includes('"valid"')), 'the reference has rank decisions and validations');
  for (const seed of [1, 2, 3]) {
    const name = `seed${seed}`;
    const random = seeded(seed);
    const log: string[] = [];
    for (let k = 0; k < 2; k++) await killedSweep(name, random, log);
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
});
