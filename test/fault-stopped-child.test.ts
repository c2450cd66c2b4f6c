// A trainer child left by a harness killed with kill -9, and then stopped (SIGSTOP) (issue 19,
// item 10): the next sweep used to wait the whole 120 s grace in silence, since a stopped
// process never acts on SIGTERM. Now an orphan is killed outright (SIGKILL takes a stopped
// process too) and the run resumes; a stopped child that the harness asks to stop (Ctrl-C)
// is seen as stopped, named in one line and killed at once.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pidAlive } from '../harness/schedule/local-executor.ts';
import { isStopped, stopChild } from '../harness/schedule/stop-child.ts';
import { openStore } from '../harness/store/store.ts';
import { startSweep, waitFor, writeSpec } from './fixtures/harness-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'fault-stopped-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const specs = join(dir, 'specs');
writeSpec(specs, 'one', `{ description: 'one run', axes: { method: ['full'] } }`);
const db = join(dir, 'r.db');
const args = ['one', '--specs-dir', specs, '--profile', 'smoke', '--db', db, '--out', join(dir, 'runs'), '--devices', 'cpu:1'];

function runRow() {
  const store = openStore(db);
  try {
    return store.listRuns()[0];
  } finally {
    store.close();
  }
}

test('a stopped orphan child is killed at once and the run resumes, with the recovery line', { timeout: 120_000 }, async () => {
  const first = startSweep(args, [{ kind: 'ok', steps: 2000, stepMs: 20 }]);
  await waitFor('the run training', () => {
    if (first.child.exitCode !== null) throw new Error(`the sweep ended early:\n${first.output()}`);
    const row = runRow();
    return row?.status === 'running' && (row.steps ?? 0) >= 3;
  });
  first.child.kill('SIGKILL');
  await first.exited;
  const pid = Number(runRow()!.job_id);
  process.kill(pid, 'SIGSTOP');
  await waitFor('the child stopped', () => isStopped(pid), 5000);

  const t0 = Date.now();
  const second = startSweep(args, [{ kind: 'ok', steps: 2000, stepMs: 0 }]);
  const code = await second.exited;
  const ms = Date.now() - t0;
  assert.equal(code, 0, second.output());
  assert.ok(ms < 60_000, `the rerun took ${ms} ms: it waited for the stopped child`);
  assert.match(second.output(), /recovered gpt2-full-fp32-s\d+: left running by a harness that is gone .*; it resumes/);
  assert.ok(!pidAlive(pid), 'the stopped child is gone');
  const row = runRow()!;
  assert.equal(row.status, 'done');
});

test('a child that ignores SIGTERM: a line says what is awaited and for how long, then it is killed', { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); process.stdout.write('ready\\n')"], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => child.stdout!.once('data', r));
  const lines: string[] = [];
  const t0 = Date.now();
  await stopChild(child.pid!, '/runs/slow', 3000, (l) => lines.push(l));
  const ms = Date.now() - t0;
  assert.deepEqual(lines, [`waiting up to 3 s for the trainer of /runs/slow (pid ${child.pid}) to write its checkpoint and exit after SIGTERM; then it is killed`]);
  assert.ok(ms >= 2900 && ms < 15_000, `stopped after ${ms} ms`);
  assert.ok(!pidAlive(child.pid!));
});

test('a stopped child asked to stop: one line says it is stopped, and it is killed at once', { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, ['-e', "setInterval(() => {}, 1000); process.stdout.write('ready\\n')"], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => child.stdout!.once('data', r));
  process.kill(child.pid!, 'SIGSTOP');
  await waitFor('the child stopped', () => isStopped(child.pid!), 5000);
  const lines: string[] = [];
  const t0 = Date.now();
  await stopChild(child.pid!, '/runs/stopped', 60_000, (l) => lines.push(l));
  assert.ok(Date.now() - t0 < 10_000, 'it did not wait out the grace');
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, new RegExp(`\\(pid ${child.pid}\\) is stopped \\(SIGSTOP\\) and cannot checkpoint: killing it now`));
  assert.ok(!pidAlive(child.pid!));
});
