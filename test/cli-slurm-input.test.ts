// Slurm options on the sweep command line, mistaken: one line, exit 2, before anything is
// submitted or stored. None of these needs a cluster. Checked in-process against the CLI's own
// parse-and-prepare functions; one process-level case keeps the exit-code contract.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseSweepArgs, prepareSweep } from '../harness/cli/sweep-input.ts';
import { sweepInputError } from './fixtures/sweep-input.ts';
import { runCliSync, writeSpec } from './fixtures/harness-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-slurm-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 'never.db');
const specs = join(dir, 'specs');
writeSpec(specs, 'on-cloud', `{ description: 'a spec naming an executor that does not exist', axes: { method: ['full'] }, executor: 'cloud' }`);
writeSpec(specs, 'bad-slurm', `{ description: 'a slurm block with a key sbatch options lack', axes: { method: ['full'] }, slurm: { partiton: 'gpu' } }`);
writeSpec(specs, 'slurm-gpu', `{ description: 'runs on slurm by default', axes: { method: ['full'] }, executor: 'slurm', slurm: { gpus: 1 } }`);

const cases: Array<{ args: string[]; says: RegExp }> = [
  { args: ['demo', '--executor', 'cloud'], says: /^error: --executor cloud: use local or slurm$/ },
  { args: ['demo', '--partition', 'gpu'], says: /^error: --partition applies to Slurm only: add --executor slurm/ },
  { args: ['demo', '--sbatch-arg=--qos=long'], says: /^error: --sbatch-arg applies to Slurm only/ },
  { args: ['demo', '--detach'], says: /^error: --detach applies to Slurm only: add --executor slurm/ },
  { args: ['demo', '--executor', 'local', '--gpus-per-run', '1'], says: /^error: --gpus-per-run applies to Slurm only/ },
  { args: ['demo', '--executor', 'slurm', '--gpus-per-run', 'one'], says: /^error: --gpus-per-run needs a whole number \(got 'one'\)$/ },
  { args: ['demo', '--executor', 'slurm', '--time', 'soon'], says: /^error: slurm option time: a Slurm time limit such as 90, 4:00:00/ },
  { args: ['demo', '--executor', 'slurm', '--mem-per-run', 'lots'], says: /^error: slurm option mem: a size such as 16G/ },
  { args: ['demo', '--executor', 'slurm', '--partition'], says: /^error: --partition needs a value$/ },
  { args: ['demo', '--executor', 'slurm', '--devices', '2'], says: /^error: --devices picks this machine's devices; with --executor slurm/ },
  { args: ['demo', '--executor', 'slurm', '--runs-per-device', '2'], says: /^error: --runs-per-device shares this machine's GPUs; with --executor slurm/ },
  { args: ['on-cloud', '--specs-dir', specs], says: /executor: Invalid option: expected one of "local"\|"slurm"/ },
  { args: ['bad-slurm', '--specs-dir', specs], says: /slurm\.partiton: unknown key \(did you mean 'partition'\?\)/ },
  // The spec chose slurm: its flags are accepted, and a wrong one is still one line.
  { args: ['slurm-gpu', '--specs-dir', specs, '--cpus-per-run', '0'], says: /^error: slurm option cpus: / },
];

for (const c of cases) {
  test(`sweep ${c.args.join(' ')}: one line (in-process)`, async () => {
    const line = await sweepInputError([...c.args, '--profile', 'smoke', '--db', db]);
    assert.ok(!line.includes('\n'), line);
    assert.match(line, c.says);
    assert.ok(!existsSync(db), 'nothing was stored');
  });
}

test('a Slurm mistake from the real CLI: one line on stderr, nothing on stdout, exit 2', () => {
  const r = runCliSync('sweep', ['demo', '--partition', 'gpu', '--profile', 'smoke', '--db', db]);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: --partition applies to Slurm only: add --executor slurm[^\n]*\n$/);
  assert.ok(!existsSync(db), 'nothing was stored');
});

/** The line --dry-run prints about the executor, from the CLI's own preparation. */
async function dryRunExecutorLine(args: string[]): Promise<string | null> {
  const command = parseSweepArgs([...args, '--profile', 'smoke', '--dry-run', '--db', db]);
  assert.equal(command.kind, 'sweep');
  if (command.kind !== 'sweep') return null;
  return (await prepareSweep(command.input)).executor.dryRunLine();
}

test('--help describes the Slurm options', () => {
  const r = runCliSync('sweep', ['--help']);
  assert.equal(r.status, 0, r.stderr);
  for (const flag of ['--executor local|slurm', '--partition', '--account', '--time', '--gpus-per-run', '--cpus-per-run', '--mem-per-run', '--sbatch-arg', '--detach']) {
    assert.ok(r.stdout.includes(flag), `--help mentions ${flag}`);
  }
});

test('a spec that names slurm makes --dry-run show the Slurm plan; flags override its block', async () => {
  const r = runCliSync('sweep', ['slurm-gpu', '--specs-dir', specs, '--profile', 'smoke', '--dry-run', '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /executor: slurm \(--gres=gpu:1\)/);
  const flags = await dryRunExecutorLine(['slurm-gpu', '--specs-dir', specs, '--gpus-per-run', '2', '--partition', 'debug']);
  assert.match(flags ?? '', /executor: slurm \(--partition=debug --gres=gpu:2\)/);
  const local = await dryRunExecutorLine(['slurm-gpu', '--specs-dir', specs, '--executor', 'local']);
  assert.equal(local, null, 'no Slurm line with --executor local');
});
