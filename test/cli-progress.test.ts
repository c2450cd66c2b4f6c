// Progress lines: what a live terminal view and plain log lines say about active runs and the
// sweep: each run's phase and ETA, the sweep's ETA from planned FLOPs and measured throughput,
// and lines that fit the terminal.
import { strict as assert } from 'node:assert';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { LiveProgress, PlainProgress, ProgressState, runLine, totalLine } from '../harness/cli/progress.ts';
import { testPlan } from './fixtures/harness-plans.ts';

const plan = testPlan({ name: 'gpt2-inrank-fp32-s1', runsDir: tmpdir(), config: { train: { maxSteps: 100 } } });
const start = {
  type: 'start' as const, time: '', backend: 'wasm', matmul: 'openblas', config: {}, params: { total: 1, mlp: 1 }, flopsPerToken: 1,
  scheduleSteps: 100, maxSteps: 100, stepsPerEpoch: 10, resumedFromStep: null, ranks: { fc1: 2, fc2: 4 }, maxRanks: { fc1: 24, fc2: 24 },
};
const step = (n: number) => ({ type: 'step' as const, step: n, epoch: 0, loss: 5.25, lr: 1e-3, gradNorm: 1, tokensPerSec: 1234.4, trainMs: n * 10 });

/** A clock the test moves by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

test('a run line: name, device, phase and step/total, share done, loss, tokens/s, mean InRank rank, ETA', () => {
  const c = clock();
  const state = new ProgressState(c.now);
  state.sweepStarted([plan], new Map());
  state.runStarted(plan, 'cpu1', 1);
  const run = () => [...state.active.values()][0]!;
  // Before the trainer says anything: the planned step count, not '?'.
  assert.match(runLine(state, run()), /^gpt2-inrank-fp32-s1 {2}cpu1 {2}starting {2}0% {2}ETA -$/);
  state.runEvent(plan, { type: 'phase', phase: 'loading data' });
  assert.match(runLine(state, run()), / {2}loading data {2}/);
  state.runEvent(plan, start);
  state.runEvent(plan, step(10));
  c.advance(1000);
  state.runEvent(plan, step(20));
  state.runEvent(plan, { type: 'rank', step: 20, counter: 25, layer: 'fc1', currentModes: 10, maxRank: 24, explainedRatio: 0.9, singularValues: [] });
  // 10 steps in 1 s: 80 steps left = 8 s.
  assert.equal(runLine(state, run()), 'gpt2-inrank-fp32-s1  cpu1  training step 20/100  20%  loss 5.25  1234 tok/s  rank 7 (mean of 2)  ETA 8s');
  state.runEvent(plan, { type: 'phase', phase: 'evaluating', detail: 'valid' });
  assert.match(runLine(state, run()), / {2}evaluating valid \(step 20\/100\) {2}/);
  state.runEvent(plan, step(21));
  assert.match(runLine(state, run()), / {2}training step 21\/100 {2}/);
  assert.match(totalLine(state), /^sweep: 0\/1 finished {2}1 running {2}0 waiting/);
  state.runEnded(plan, 'done');
  assert.match(totalLine(state), /^sweep: 1\/1 finished \(1 done\) {2}0 running/);
});

test("the sweep's ETA: planned FLOPs left over the throughput measured so far; a run without steps yet estimates from it", () => {
  const c = clock();
  const state = new ProgressState(c.now);
  const a = testPlan({ name: 'a', runsDir: tmpdir(), expectedCost: 6e9, config: { train: { maxSteps: 100 } } });
  const b = testPlan({ name: 'b', runsDir: tmpdir(), expectedCost: 6e9, config: { train: { maxSteps: 100 } } });
  const waiting = testPlan({ name: 'w', runsDir: tmpdir(), expectedCost: 12e9, config: { train: { maxSteps: 100 } } });
  state.sweepStarted([a, b, waiting], new Map());
  state.runStarted(a, 'cpu0', 1);
  state.runStarted(b, 'cpu1', 1);
  assert.equal(state.sweepEta(), null, 'nothing measured yet');
  assert.match(totalLine(state), /ETA -/);
  state.runEvent(a, { ...start, ranks: null });
  state.runEvent(a, step(50));
  c.advance(10_000);
  // 3e9 FLOPs in 10 s = 0.3 GFLOP/s; left: 3e9 (a) + 6e9 (b) + 12e9 (waiting) = 21e9 -> 70 s.
  assert.equal(Math.round(state.sweepEta()! / 1000), 70);
  assert.match(totalLine(state), /ETA 1m10s {2}at 0\.3 GFLOP\/s measured$/);
  // b has taken no step: its own ETA comes from the sweep's rate shared by the 2 running runs (6e9 / 0.15 GFLOP/s = 40 s).
  const eta = state.eta(state.active.get(b.id)!)!;
  assert.deepEqual({ s: Math.round(eta.ms / 1000), estimated: eta.estimated }, { s: 40, estimated: true });
  assert.match(runLine(state, state.active.get(b.id)!), /ETA ~40s$/);
});

test('lines fit the width: the least needed parts go first, the name loses its middle last', () => {
  const c = clock();
  const state = new ProgressState(c.now);
  const long = testPlan({ name: 'gpt2-medium-inrank-fp16-er0.8-b12-warm400-s1113-stage1', runsDir: tmpdir(), config: { train: { maxSteps: 100 } } });
  state.sweepStarted([long], new Map());
  state.runStarted(long, 'cuda:0', 2);
  state.runEvent(long, start);
  state.runEvent(long, step(10));
  c.advance(500);
  state.runEvent(long, step(12));
  const run = state.active.get(long.id)!;
  const full = runLine(state, run);
  assert.ok(full.includes('1234 tok/s') && full.includes('cuda:0'));
  for (const width of [100, 80, 60, 40]) {
    const line = runLine(state, run, width);
    assert.ok([...line].length <= width, `${width}: ${line}`);
    assert.match(line, /training step 12\/100/, `${width}: the phase stays`);
  }
  assert.match(runLine(state, run, 100), /^gpt2-medium-inrank-fp16-er0\.8-b12-warm400-s1113-stage1 {2}training step 12\/100 {2}ETA 22s {2}attempt 2$/);
  assert.equal(runLine(state, run, 80), 'gpt2-medium-inrank-fp16-er0.8-b12-warm400-s1113-stage1  training step 12/100');
  assert.equal(runLine(state, run, 40), 'gpt2-medi…3-stage1  training step 12/100');
  assert.ok([...totalLine(state, 40)].length <= 40);
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
  assert.ok(lines.some((l) => l.startsWith('  gpt2-inrank-fp32-s1  cpu0  training step 0/100')), lines.join('\n'));
  assert.ok(lines.includes('diverged    gpt2-inrank-fp32-s1: loss is NaN'));
  assert.match(lines.at(-1)!, /^sweep: 1\/1 finished \(1 diverged\)/);
});

test('on a terminal: the live block is erased and redrawn in place within its width, finished runs stay above it', async () => {
  let out = '';
  const tty = { isTTY: true, columns: 60, write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
  const live = new LiveProgress(tty, 20);
  live.sweepStarted([plan], new Map());
  live.runStarted(plan, 'cuda:0', 1);
  live.runEvent(plan, start);
  await new Promise((r) => setTimeout(r, 70));
  live.runEnded(plan, 'done', 'max steps');
  live.close();
  assert.match(out, /\x1b\[2A\x1b\[0J/, 'the two-line block (one run + total) is erased before a redraw');
  // At 60 columns the device and the elapsed time make way for the phase, the share done and the ETAs.
  assert.match(out, /(^|\n|\x1b\[0J) {2}gpt2-inrank-fp32-s1 {2}training step 0\/100 {2}0% {2}ETA -\n/);
  assert.match(out, /done {8}gpt2-inrank-fp32-s1: max steps\n/);
  assert.match(out, /sweep: 1\/1 finished \(1 done\) {2}0 running {2}0 waiting {2}ETA 0s\n$/);
  for (const l of out.replace(/\x1b\[[0-9]*[AJ]/g, '').split('\n')) assert.ok([...l].length < 60, `within the width: ${l}`);
});
