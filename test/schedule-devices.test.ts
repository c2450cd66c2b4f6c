// Slots from the machine's devices and --devices, and how a child's end becomes a run status.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { planSlots } from '../harness/schedule/devices.ts';
import type { LaunchResult } from '../harness/schedule/executor.ts';
import { errorLine, exitVerdict } from '../harness/schedule/exit-verdict.ts';
import { UserError } from '../harness/contract/errors.ts';
import { EXIT } from '../harness/contract/protocol.ts';

const twoGpus = { gpus: [{ index: 0, name: 'A' }, { index: 1, name: 'B' }], cores: 16 };
const cpuOnly = { gpus: [], cores: 4 };

test('no --devices: one slot per GPU, else one per core with one BLAS thread each', () => {
  const gpu = planSlots(undefined, twoGpus);
  assert.deepEqual(gpu.map((s) => [s.name, s.env.CUDA_VISIBLE_DEVICES, s.env.OMP_NUM_THREADS]), [['cuda:0', '0', '8'], ['cuda:1', '1', '8']]);
  const cpu = planSlots(undefined, cpuOnly);
  assert.equal(cpu.length, 4);
  assert.ok(cpu.every((s) => s.kind === 'cpu' && s.env.OPENBLAS_NUM_THREADS === '1' && s.env.CUDA_VISIBLE_DEVICES === ''));
});

test('--devices: counts, GPU lists and cpu:N; slots x threads never exceed the cores', () => {
  assert.deepEqual(planSlots('1', twoGpus).map((s) => s.name), ['cuda:0']);
  assert.deepEqual(planSlots('1,0', twoGpus).map((s) => s.env.CUDA_VISIBLE_DEVICES), ['1', '0']);
  const cpu2 = planSlots('2', cpuOnly);
  assert.deepEqual(cpu2.map((s) => [s.name, s.env.OMP_NUM_THREADS]), [['cpu0', '2'], ['cpu1', '2']]);
  assert.deepEqual(planSlots('cpu:3', twoGpus).map((s) => s.kind), ['cpu', 'cpu', 'cpu']);
  assert.equal(planSlots('cpu', cpuOnly).length, 4);
  for (const n of [1, 2, 3, 4, 5]) {
    const slots = planSlots(`cpu:${n}`, cpuOnly);
    assert.ok(n * Number(slots[0]!.env.OMP_NUM_THREADS) <= Math.max(4, n));
  }
  assert.throws(() => planSlots('3', twoGpus), (e: unknown) => e instanceof UserError && /has 2 GPU/.test(e.message));
  assert.throws(() => planSlots('0,5', twoGpus), /no GPU 5/);
  assert.throws(() => planSlots('0', cpuOnly), /at least 1/);
  assert.throws(() => planSlots('gpu', cpuOnly), /not understood/);
});

const exit = (over: Partial<LaunchResult>): LaunchResult => ({
  exitCode: 0, signal: null, timedOut: false, cancelled: false, launchError: null, stderrTail: '', logPath: null, durationMs: 1000, ...over,
});
const done = (status: 'done' | 'diverged' | 'interrupted') => ({
  type: 'done' as const, status, reason: `r-${status}`, steps: 1, wallMs: 1, trainMs: 1, skippedSteps: 0, params: { total: 1, mlp: 1 },
  flopsPerToken: 1, ranks: null, checkpoint: null,
  metrics: { trainLoss: 1, validLoss: 1, validPpl: 1, testLoss: null, testPpl: null, bestValidLoss: 1 },
});

test('exit codes map to statuses; only crashes are retried', () => {
  assert.deepEqual(exitVerdict(exit({}), done('done'), undefined, false), { status: 'done', reason: 'r-done', retry: false, error: null });
  assert.equal(exitVerdict(exit({ exitCode: EXIT.diverged }), done('diverged'), undefined, false).status, 'diverged');
  assert.equal(exitVerdict(exit({ exitCode: EXIT.diverged }), done('diverged'), undefined, false).retry, false);
  const user = exitVerdict(exit({ exitCode: EXIT.userError }), undefined, { type: 'error', kind: 'user', message: 'bad key' }, false);
  assert.deepEqual([user.status, user.retry, user.reason], ['failed', false, 'user error: bad key']);
  assert.equal(exitVerdict(exit({ exitCode: EXIT.interrupted }), done('interrupted'), undefined, false).status, 'interrupted');
  assert.equal(exitVerdict(exit({ exitCode: null, signal: 'SIGTERM' }), undefined, undefined, true).status, 'interrupted');
  const crash = exitVerdict(exit({ exitCode: EXIT.crashed, stderrTail: 'file:1\n  throw e\nRangeError: too big\n    at f (x.ts:1)\n\nNode.js v20.1.0\n' }), undefined, undefined, false);
  assert.deepEqual([crash.status, crash.retry, crash.reason], ['failed', true, 'crashed (exit 1): RangeError: too big']);
  assert.equal(exitVerdict(exit({ exitCode: null, signal: 'SIGKILL' }), undefined, undefined, false).retry, true);
  assert.equal(exitVerdict(exit({}), undefined, undefined, false).retry, true, 'exit 0 without a done event is a crash');
  const timeout = exitVerdict(exit({ exitCode: EXIT.interrupted, timedOut: true }), undefined, undefined, false);
  assert.deepEqual([timeout.status, timeout.retry], ['failed', false]);
  assert.match(timeout.reason, /timed out/);
  assert.equal(errorLine('just a line'), 'just a line');
});
