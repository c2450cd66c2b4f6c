// The trainer as a real child process: bad configs exit 2 with one clear line; SIGTERM
// finishes the step, writes a checkpoint and exits EXIT.interrupted; a resumed run
// reproduces the uninterrupted run's losses exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEvent, EXIT, type TrainEvent, type StepEvent } from '../harness/contract/protocol.ts';

const MAIN = join(import.meta.dirname, '..', 'harness', 'train', 'main.ts');
const CACHE = join(tmpdir(), 'inrank-engine-test-cache');

interface ChildResult {
  code: number | null;
  events: TrainEvent[];
  stderr: string;
}

function runTrainer(args: string[], onEvent?: (e: TrainEvent, kill: () => void) => void): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: TrainEvent[] = [];
    let stderr = '';
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const e = decodeEvent(line);
        assert.ok(e, `stdout carries only events, got: ${line}`);
        events.push(e);
        onEvent?.(e, () => child.kill('SIGTERM'));
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, events, stderr }));
  });
}

function writeConfig(dir: string, name: string, cfg: object): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

const tinyRun = (outDir: string, maxSteps: number) => ({
  name: 'tiny',
  model: { nEmbd: 32, nHead: 2, nLayer: 1, context: 64, vocabSize: 128 },
  data: { vocabTopK: 128, cacheDir: CACHE },
  train: { globalBatch: 16, microBatch: 8, maxSteps, evalEvery: 3, evalBatches: 1, checkpointEvery: 100, lr: 0.003, warmupSteps: 2 },
  backend: 'wasm',
  outDir,
});

test('unknown keys and ill-typed values: one clear line, exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-cli-'));
  const unknown = await runTrainer([writeConfig(dir, 'a', { model: { nEmbd: 32, nHeads: 2 } })]);
  assert.equal(unknown.code, EXIT.userError);
  const err = unknown.events.find((e) => e.type === 'error');
  assert.ok(err && err.type === 'error' && err.kind === 'user');
  assert.match(err.message, /model: unknown key\(s\) 'nHeads'/);
  const typed = await runTrainer([writeConfig(dir, 'b', { train: { lr: 'fast' } })]);
  assert.equal(typed.code, EXIT.userError);
  assert.match(typed.stderr, /train\.lr/);
  const missing = await runTrainer([join(dir, 'nope.json')]);
  assert.equal(missing.code, EXIT.userError);
  assert.match(missing.stderr, /cannot read run config .*nope\.json/);
  const badBackend = await runTrainer([writeConfig(dir, 'c', {}), '--backend', 'tensorflow']);
  assert.equal(badBackend.code, EXIT.userError);
  assert.match(badBackend.stderr, /backend tensorflow is not available/);
});

test('SIGTERM: checkpoint and EXIT.interrupted; --resume reproduces the uninterrupted losses exactly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-resume-'));
  const steps = 7;
  const full = await runTrainer([writeConfig(dir, 'full', tinyRun(join(dir, 'full'), steps))]);
  assert.equal(full.code, EXIT.ok, full.stderr);
  const fullLosses = full.events.filter((e): e is StepEvent => e.type === 'step').map((e) => [e.step, e.loss]);
  assert.equal(fullLosses.length, steps);
  // The live progress view's phases: data loading first, one before each evaluation and each save.
  assert.deepEqual(full.events[0], { type: 'phase', phase: 'loading data' });
  full.events.forEach((e, i) => {
    const before = full.events[i - 1];
    if (e.type === 'eval') assert.deepEqual(before, { type: 'phase', phase: 'evaluating', detail: e.split });
    if (e.type === 'checkpoint') assert.deepEqual(before, { type: 'phase', phase: 'saving' });
  });
  assert.ok(full.events.some((e) => e.type === 'eval'), 'the run evaluates');

  const cfgPath = writeConfig(dir, 'split', tinyRun(join(dir, 'split'), steps));
  let sent = false;
  const first = await runTrainer([cfgPath], (e, kill) => {
    if (e.type === 'step' && e.step === 2 && !sent) {
      sent = true;
      kill();
    }
  });
  assert.equal(first.code, EXIT.interrupted, first.stderr);
  const ck = first.events.find((e) => e.type === 'checkpoint');
  assert.ok(ck && ck.type === 'checkpoint' && ck.kind === 'interrupt' && existsSync(ck.path));
  const done = first.events.find((e) => e.type === 'done');
  assert.ok(done && done.type === 'done' && done.status === 'interrupted');
  const stoppedAt = done.steps;
  assert.ok(stoppedAt >= 2 && stoppedAt < steps, `stopped at ${stoppedAt}`);

  const second = await runTrainer([cfgPath, '--resume']);
  assert.equal(second.code, EXIT.ok, second.stderr);
  const start = second.events.find((e) => e.type === 'start');
  assert.ok(start && start.type === 'start' && start.resumedFromStep === stoppedAt);
  const splitLosses = [...first.events, ...second.events].filter((e): e is StepEvent => e.type === 'step').map((e) => [e.step, e.loss]);
  assert.deepEqual(splitLosses, fullLosses);
  const evals = (r: ChildResult) => r.events.filter((e) => e.type === 'eval').map((e) => JSON.stringify(e));
  assert.deepEqual([...evals(first), ...evals(second)], evals(full));
});
