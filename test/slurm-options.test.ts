// The Slurm executor's pure parts (no cluster needed): option parsing and its one-line user
// errors, the sbatch arguments the options turn into, squeue output parsing, state mapping,
// the batch script, and the events-file follower's byte offsets.
import { strict as assert } from 'node:assert';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { UserError } from '../harness/contract/errors.ts';
import { encodeEvent } from '../harness/contract/protocol.ts';
import { isActive, jobPhase, parseSqueueLine } from '../harness/schedule/slurm/commands.ts';
import { parseSlurmOptions } from '../harness/contract/slurm-options.ts';
import { resourceArgs, takeSlurmFlags } from '../harness/schedule/slurm/options.ts';
import { batchScript, identityArgs, shellQuote } from '../harness/schedule/slurm/script.ts';
import { readEventsSince } from '../harness/schedule/slurm/job-file.ts';
import { SlurmExecutor } from '../harness/schedule/slurm/executor.ts';
import { askCancelOrLeave } from '../harness/schedule/slurm/interrupt.ts';

const dir = mkdtempSync(join(tmpdir(), 'slurm-opts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('Slurm flags become options and sbatch arguments; bad values are one-line user errors', () => {
  const { input, rest } = takeSlurmFlags([
    'paper-table', '--partition', 'gpu', '--account=lab', '--time', '1-00:00:00', '--gpus-per-run', '1',
    '--cpus-per-run=8', '--mem-per-run', '64G', '--sbatch-arg=--qos=long', '--sbatch-arg', '--constraint=a100', '--profile', 'paper',
  ]);
  assert.deepEqual(rest, ['paper-table', '--profile', 'paper']);
  const options = parseSlurmOptions(input);
  assert.deepEqual(resourceArgs(options), [
    '--partition=gpu', '--account=lab', '--time=1-00:00:00', '--gres=gpu:1', '--cpus-per-task=8', '--mem=64G', '--qos=long', '--constraint=a100',
  ]);
  assert.deepEqual(resourceArgs(parseSlurmOptions({})), []);
  assert.throws(() => parseSlurmOptions({ time: 'tomorrow' }), (e: unknown) => e instanceof UserError && /slurm option time/.test(e.message));
  assert.throws(() => parseSlurmOptions({ mem: 'lots' }), UserError);
  assert.throws(() => parseSlurmOptions({ gpu: 1 }), /unknown key\(s\) 'gpu'/);
  assert.throws(() => takeSlurmFlags(['--gpus-per-run', 'one']), (e: unknown) => e instanceof UserError && /whole number/.test(e.message));
  assert.throws(() => takeSlurmFlags(['--partition']), /--partition needs a value/);
});

test('squeue lines parse into job states; the wait status splits into exit code and signal', () => {
  const failed = parseSqueueLine('5|FAILED|NonZeroExitCode|0|768|(null)|gpt2-full-s1113|0123abcd|')!;
  assert.equal(failed.phase, 'failed');
  assert.equal(failed.exitCode, 3);
  assert.equal(failed.signal, 0);
  assert.equal(failed.comment, '0123abcd');
  const killed = parseSqueueLine('6|NODE_FAIL|NodeDown|0|15|(null)|x|(null)|')!;
  assert.equal(killed.phase, 'node-fail');
  assert.equal(killed.signal, 15);
  const held = parseSqueueLine('7|PENDING|Dependency|1|0|afterok:5(unfulfilled)|s2|id|with|bars|')!;
  assert.equal(held.phase, 'queued');
  assert.equal(held.exitCode, null, 'no exit code before the job ends');
  assert.equal(held.restarts, 1);
  assert.equal(held.dependency, 'afterok:5(unfulfilled)');
  assert.equal(held.comment, 'id|with|bars');
  assert.equal(parseSqueueLine('JOBID|STATE'), null);
  assert.equal(jobPhase('CANCELLED by 0'), 'cancelled');
  assert.equal(jobPhase('PREEMPTED'), 'preempted');
  assert.equal(jobPhase('TIMEOUT'), 'timeout');
  assert.equal(jobPhase('REQUEUED'), 'queued');
  assert.equal(jobPhase('WHATEVER'), 'unknown');
  assert.equal(isActive(jobPhase('COMPLETING')), true);
  assert.equal(isActive(jobPhase('COMPLETED')), false);
});

test('the batch script quotes paths, resumes on a Slurm requeue, and records the exit code', () => {
  const job = { runId: 'abc', name: "o'brien run", outDir: '/shared/runs/a b', repoRoot: '/shared/repo', command: ['node', '--import', 'tsx', '/shared/repo/harness/train/main.ts'], env: { OMP_NUM_THREADS: '4', 'BAD-NAME': 'x' } };
  const script = batchScript(job);
  assert.match(script, /^#!\/bin\/bash\n/);
  assert.match(script, /out='\/shared\/runs\/a b'/);
  assert.match(script, /SLURM_RESTART_COUNT:-0}" -gt 0 ]; then config="\$out\/config.resume.json"/);
  assert.match(script, /node --import tsx \/shared\/repo\/harness\/train\/main.ts "\$config" >> "\$out\/events.jsonl" 2>> "\$out\/train.log"/);
  assert.match(script, /export OMP_NUM_THREADS=4/);
  assert.doesNotMatch(script, /BAD-NAME/);
  assert.match(script, /slurm-\$SLURM_JOB_ID\.exit/);
  assert.equal(shellQuote("o'brien"), `'o'\\''brien'`);
  const args = identityArgs(job, '42');
  // Names are checked at spec validation; one that skipped it still reaches Slurm as one safe word.
  assert.ok(args.includes('--job-name=o_brien_run'));
  assert.ok(args.includes('--comment=abc'));
  assert.ok(args.includes('--dependency=afterok:42'));
  assert.ok(!identityArgs(job, null).some((a) => a.startsWith('--dependency')));
});

test('the events follower hands over complete lines once, from its stored offset', () => {
  const file = join(dir, 'events.jsonl');
  assert.deepEqual(readEventsSince(dir, 0), { events: [], offset: 0 });
  const step = (n: number) => encodeEvent({ type: 'step', step: n, epoch: 0, loss: 1, lr: 1, gradNorm: 1, tokensPerSec: 1, trainMs: n });
  appendFileSync(file, `${step(1)}\nnot an event\n${step(2)}\n${step(3).slice(0, 10)}`);
  const first = readEventsSince(dir, 0);
  assert.deepEqual(first.events.map((e) => (e as { step: number }).step), [1, 2]);
  appendFileSync(file, `${step(3).slice(10)}\n`);
  const second = readEventsSince(dir, first.offset);
  assert.deepEqual(second.events.map((e) => (e as { step: number }).step), [3], 'the half-written line is read once, whole');
  assert.deepEqual(readEventsSince(dir, second.offset).events, []);
});

test('Ctrl-C on Slurm asks on a terminal whether to cancel or leave the jobs; off a terminal it cancels', async () => {
  const ex = new SlurmExecutor();
  // A terminal that types the next answer each time it is asked.
  const terminal = (...answers: string[]) => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const output = new PassThrough();
    let asked = '';
    output.on('data', (d: Buffer) => {
      asked += d.toString();
      if (d.toString().includes('?')) setImmediate(() => input.write(`${answers.shift() ?? ''}\n`));
    });
    return { io: { input, output }, asked: () => asked };
  };
  const leave = terminal('maybe', 'l');
  assert.equal(await askCancelOrLeave(ex, leave.io), 'leave');
  assert.match(leave.asked(), /\[c\]ancel them \(scancel\) or \[l\]eave them running\?/);
  assert.equal(await askCancelOrLeave(new SlurmExecutor(), terminal('cancel').io), 'cancel');
  assert.equal(await askCancelOrLeave(new SlurmExecutor(), { input: new PassThrough(), output: new PassThrough() }), 'cancel');
});
