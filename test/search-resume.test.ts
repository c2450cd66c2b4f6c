// A search through the real CLI with the real trainer (smoke profile, tiny trials, ASHA on):
// killed with kill -9 midway and rerun, it ends with the same trials as an uninterrupted one,
// and the trials finished before the kill are not trained again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore } from '../harness/store/store.ts';
import { listSearches, searchRungs, searchTrials } from '../harness/store/search-store.ts';
import { REPO, waitFor, writeSpec } from './fixtures/harness-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'search-resume-'));
after(() => { if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true }); else console.log("KEPT", dir); });
const specs = join(dir, 'specs');
// Full rank, so a trial is one run; two settings, four trials, two at a time; ASHA's rung at step 6 of 8.
writeSpec(specs, 'tiny-search', `{
  description: 'a tiny search for the resume test',
  axes: { model: ['gpt2'], method: ['full'] },
  search: {
    space: { 'train.lr': { kind: 'log-uniform', low: 1e-3, high: 3e-2 }, 'model.dropout': { kind: 'uniform', low: 0, high: 0.2 } },
    trials: 4, maxParallel: 2, seed: 5, strategy: 'tpe', startupTrials: 2,
    // The rung at step 6, off the checkpoints (every 4 steps): a run resumed from a checkpoint
    // repeats the rung's validation. (An orphaned trainer that passed a rung on a checkpoint step
    // while no harness watched would not be judged there.)
    earlyStop: { kind: 'asha', minTokens: 768, reductionFactor: 2 },
  },
}`);

function sweep(name: string) {
  const args = ['--import', 'tsx', join(REPO, 'harness', 'cli', 'sweep.ts'), 'tiny-search', '--specs-dir', specs, '--profile', 'smoke',
    '--db', join(dir, `${name}.db`), '--out', join(dir, name), '--devices', 'cpu:2'];
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code, signal) => r(code ?? (signal ? -1 : null))));
  return { child, exited, output: () => text };
}

function readTrials(name: string) {
  const store = openStore(join(dir, `${name}.db`));
  try {
    const search = listSearches(store)[0]!;
    const trials = searchTrials(store, search.id).map((t) => ({
      trial: t.trial, params: JSON.parse(t.params) as unknown, runIds: JSON.parse(t.run_ids) as string[], basis: t.basis, status: t.status, value: t.value,
    }));
    const rungs = searchRungs(store, search.id).map((r) => ({ trial: r.trial, rung: r.rung, decision: r.decision }));
    const attempts = Object.fromEntries(store.listRuns().map((r) => [r.id, r.attempts]));
    return { trials, rungs, attempts };
  } finally {
    store.close();
  }
}

test('kill -9 midway, rerun: the same trials, decisions and results as an uninterrupted search', { timeout: 300_000 }, async () => {
  const whole = sweep('whole');
  assert.equal(await whole.exited, 0, whole.output());
  const expected = readTrials('whole');
  assert.equal(expected.trials.length, 4);
  assert.ok(expected.trials.every((t) => t.status === 'done' || t.status === 'pruned'), JSON.stringify(expected.trials));
  assert.ok(expected.rungs.length >= 2, 'ASHA decided at the rung');

  const killed = sweep('killed');
  const db = join(dir, 'killed.db');
  // Midway: a trial has finished and a later one is training.
  let finishedBefore: number[] = [];
  await waitFor('a finished trial and a later one running', () => {
    if (killed.child.exitCode !== null) throw new Error(`the search ended before the kill:\n${killed.output()}`);
    const store = openStore(db);
    try {
      const search = listSearches(store)[0];
      if (!search) return false;
      const trials = searchTrials(store, search.id);
      finishedBefore = trials.filter((t) => t.status !== 'pending').map((t) => t.trial);
      const running = store.listRuns({ status: 'running' }).some((r) => (r.steps ?? 0) >= 1);
      return finishedBefore.length >= 1 && trials.length >= 3 && running;
    } finally {
      store.close();
    }
  }, 200_000);
  killed.child.kill('SIGKILL');
  await killed.exited;
  const before = readTrials('killed');

  const rerun = sweep('killed');
  assert.equal(await rerun.exited, 0, rerun.output());
  const after = readTrials('killed');
  assert.deepEqual(after.trials.map(({ value: _v, ...t }) => t), expected.trials.map(({ value: _v, ...t }) => t), 'same proposals, runs and outcomes');
  after.trials.forEach((t, i) => {
    const want = expected.trials[i]!.value;
    if (want === null) assert.equal(t.value, null);
    else assert.ok(Math.abs(t.value! - want) < 1e-6 * want, `trial ${i}: ${t.value} vs ${want}`);
  });
  assert.deepEqual(after.rungs, expected.rungs, 'same ASHA decisions');
  // Trials finished before the kill were reused, not trained again.
  for (const i of finishedBefore) {
    for (const id of after.trials[i]!.runIds) assert.equal(after.attempts[id], before.attempts[id], `run ${id} of trial ${i} trained again`);
  }
  assert.match(rerun.output(), /recovered .*: left running by a harness that is gone/);
});
