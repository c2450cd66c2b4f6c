// Progress lines: what a live terminal view and plain log lines say about active runs.
import { strict as assert } from 'node:assert';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { LiveProgress, PlainProgress, ProgressState } from '../harness/cli/progress.ts';
import { testPlan } from './fixtures/harness-plans.ts';

const plan = testPlan({ name: 'gpt2-inrank-fp32-s1', runsDir: tmpdir() });
const start = {
  type: 'start' as const, time: '', backend: 'wasm', matmul: 'openblas', config: {}, params: { total: 1, mlp: 1 }, flopsPerToken: 1,
  scheduleSteps: 100, maxSteps: 100, stepsPerEpoch: 10, resumedFromStep: null, ranks: { fc1: 2, fc2: 4 }, maxRanks: { fc1: 24, fc2: 24 },
};
const step = (n: number) => ({ type: 'step' as const, step: n, epoch: 0, loss: 5.25, lr: 1e-3, gradNorm: 1, tokensPerSec: 1234.4, trainMs: n * 10 });

test('a run line: name, device, step/total, loss, tokens/s, mean InRank rank, ETA', async () => {
  const state = new ProgressState();
  state.sweepStarted([plan], new Map());
  state.runStarted(plan, 'cpu1', 1);
  state.runEvent(plan, start);
  state.runEvent(plan, step(10));
  await new Promise((r) => setTimeout(r, 50));
  state.runEvent(plan, step(20));
  state.runEvent(plan, { type: 'rank', step: 20, counter: 25, layer: 'fc1', currentModes: 10, maxRank: 24, explainedRatio: 0.9, singularValues: [] });
  const line = state.runLine([...state.active.values()][0]!);
  assert.match(line, /^gpt2-inrank-fp32-s1 {2}cpu1 {2}step 20\/100 {2}loss 5\.25 {2}1234 tok\/s {2}rank 7 \(mean of 2\) {2}ETA \d+s$/);
  assert.match(state.totalLine(), /^sweep: 0\/1 finished, 1 running, 0 waiting/);
  state.runEnded(plan, 'done');
  assert.match(state.totalLine(), /^sweep: 1\/1 finished \(1 done\), 0 running/);
});

test('off a terminal: plain lines at start and end, periodic lines for active runs', async () => {
  const lines: string[] = [];
  const p = new PlainProgress((l) => lines.push(l), 30);
  p.sweepStarted([plan], new Map());
  p.runStarted(plan, 'cpu0', 2);
  p.runEvent(plan, start);
  await new Promise((r) => setTimeout(r, 80));
  p.runEnded(plan, 'diverged', 'loss is NaN');
  p.close();
  assert.equal(lines[0], 'started     gpt2-inrank-fp32-s1 on cpu0 (attempt 2)');
  assert.ok(lines.some((l) => l.startsWith('  gpt2-inrank-fp32-s1  cpu0  step 0/100')), lines.join('\n'));
  assert.ok(lines.includes('diverged    gpt2-inrank-fp32-s1: loss is NaN'));
  assert.match(lines.at(-1)!, /^sweep: 1\/1 finished \(1 diverged\)/);
});

test('on a terminal: the live block is erased and redrawn in place, finished runs stay above it', async () => {
  let out = '';
  const tty = { isTTY: true, columns: 80, write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
  const live = new LiveProgress(tty, 20);
  live.sweepStarted([plan], new Map());
  live.runStarted(plan, 'cuda:0', 1);
  live.runEvent(plan, start);
  await new Promise((r) => setTimeout(r, 70));
  live.runEnded(plan, 'done', 'max steps');
  live.close();
  assert.match(out, /\x1b\[2A\x1b\[0J/, 'the two-line block (one run + total) is erased before a redraw');
  assert.match(out, / {2}gpt2-inrank-fp32-s1 {2}cuda:0 {2}step 0\/100/);
  assert.match(out, /done {8}gpt2-inrank-fp32-s1: max steps\n/);
  assert.match(out, /sweep: 1\/1 finished \(1 done\), 0 running, 0 waiting, 0s elapsed\n$/);
});
