// User mistakes on the command line: exactly one line, exit 2. The sweep's mistakes are checked
// in-process against the very functions the CLI runs before it prints or stores anything
// (parseSweepArgs, prepareSweep); a few process-level cases keep the contract itself: one
// line on stderr, nothing on stdout, exit code 2.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseSweepArgs, prepareSweep } from '../harness/cli/sweep-input.ts';
import { openStore } from '../harness/store/store.ts';
import { runCliSync } from './fixtures/harness-cli.ts';
import { sweepInputError } from './fixtures/sweep-input.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 'r.db');
openStore(db).close();

const sweepCases: Array<{ args: string[]; says: RegExp }> = [
  { args: ['no-such-spec'], says: /unknown spec 'no-such-spec'/ },
  { args: ['demo', 'train.lrr=3e-4', '--dry-run'], says: /unknown override key 'train\.lrr' \(did you mean 'train\.lr'\?\)/ },
  { args: ['demo', '--profile', 'paper', '--dry-run'], says: /profile paper needs .*--data-dir/ },
  { args: ['demo', '--devices', 'many'], says: /--devices 'many' is not understood/ },
  { args: ['demo', '--backend', 'metal'], says: /^error: --backend metal: expected one of auto, tensorflow-gpu, webgpu, / },
  { args: ['demo', '--runs-per-device', '0'], says: /--runs-per-device/ },
  { args: ['demo', '--devices', 'cpu:2', '--runs-per-device', '2'], says: /--runs-per-device 2 shares a GPU between runs; this sweep runs on CPU slots/ },
  { args: ['demo', '--retries', '-1'], says: /--retries/ },
  { args: ['demo', '--timeout', 'soon'], says: /--timeout soon/ },
  { args: ['demo', 'stray'], says: /unexpected argument 'stray'/ },
  { args: [], says: /give a spec name/ },
  // Command-line axes and the search flags (issue 16), read by the same parse-and-prepare.
  { args: ['demo', 'inrank.explainedRatio=0.7,x'], says: /^error: axis inrank\.explainedRatio: / },
  { args: ['demo', 'train.lrr=1e-3,3e-3'], says: /axis 'train\.lrr=1e-3,3e-3': unknown key 'train\.lrr' \(did you mean 'train\.lr'\?\)/ },
  { args: ['demo', 'seed=1,2.5'], says: /axis seed: seeds are whole numbers/ },
  { args: ['demo', 'train.lr=range(0,1,0)'], says: /range\(\) step must not be 0/ },
  { args: ['demo', 'seed=1,2', 'train.seed=3,4'], says: /axis train\.seed is given twice/ },
  { args: ['demo', '--search', 'tpe', '--profile', 'smoke'], says: /--search tpe: spec demo declares no search/ },
  { args: ['search-explained-ratio', '--search', 'grid'], says: /--search grid: use random or tpe/ },
  { args: ['search-explained-ratio', '--early-stop', 'hyperband'], says: /--early-stop hyperband: use asha or none/ },
  { args: ['search-explained-ratio', '--trials', '0'], says: /--trials 0: give a whole number of at least 1/ },
];

for (const c of sweepCases) {
  test(`sweep ${c.args.join(' ')}: one line (in-process)`, async () => {
    const line = await sweepInputError(c.args);
    assert.ok(!line.includes('\n'), line);
    assert.match(line, c.says);
  });
}

test('sweep --devices list asks for the device listing, before any spec is needed (in-process)', () => {
  assert.deepEqual(parseSweepArgs(['--devices', 'list']), { kind: 'devices' });
  const command = parseSweepArgs(['demo', '--backend', 'webgpu', '--runs-per-device', '3']);
  assert.equal(command.kind, 'sweep');
  if (command.kind === 'sweep') {
    assert.equal(command.input.backend, 'webgpu');
    assert.equal(command.input.runsPerDevice, 3);
  }
});

test('sweep with command-line axes: they reach the expansion, seeds replace the spec\'s (in-process)', async () => {
  const command = parseSweepArgs(['demo', '--profile', 'smoke', 'inrank.explainedRatio=0.7,0.8', 'seed=1,2', 'train.lr=1e-3']);
  assert.equal(command.kind, 'sweep');
  if (command.kind !== 'sweep') return;
  assert.deepEqual(command.input.overrides, ['train.lr=1e-3']);
  assert.deepEqual(command.input.expandAxes, { axes: { 'inrank.explainedRatio': [0.7, 0.8] }, seeds: [1, 2] });
  const sweep = await prepareSweep(command.input);
  assert.equal(sweep.search, null);
  assert.deepEqual([...new Set(sweep.plans.map((p) => p.seed))].sort(), [1, 2]);
  assert.deepEqual([...new Set(sweep.plans.map((p) => p.config.inrank.explainedRatio))].sort(), [0.7, 0.8]);
  assert.ok(sweep.plans.every((p) => p.config.train.lr === 1e-3));
});

test('sweep of a spec with a search block is planned as a search (in-process)', async () => {
  const command = parseSweepArgs(['search-explained-ratio', '--profile', 'smoke', '--search', 'random', '--trials', '3']);
  assert.equal(command.kind, 'sweep');
  if (command.kind !== 'sweep') return;
  const sweep = await prepareSweep(command.input);
  assert.equal(sweep.search?.search.strategy, 'random');
  assert.equal(sweep.search?.search.trials, 3);
});

const processCases: Array<{ cli: string; args: string[]; says: RegExp }> = [
  { cli: 'sweep', args: ['demo', '--bogus'], says: /Unknown option '--bogus'/ },
  { cli: 'sweep', args: ['demo', 'train.lrr=3e-4', '--dry-run'], says: /unknown override key 'train\.lrr'/ },
  { cli: 'runs', args: ['--db', db, '--status', 'finished'], says: /--status finished: not a run status/ },
  { cli: 'runs', args: ['--db', join(dir, 'missing.db')], says: /no results database at/ },
  { cli: 'runs', args: ['--db', db, '--sweep', '7'], says: /--sweep 7: no such sweep/ },
  { cli: 'show', args: ['--db', db, 'nothing'], says: /no stored run matches 'nothing'/ },
  { cli: 'show', args: ['--db', db], says: /give one run/ },
];

for (const c of processCases) {
  test(`${c.cli} ${c.args.join(' ')}: one line, exit 2 (process)`, () => {
    const r = runCliSync(c.cli, c.args);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, c.says);
  });
}

test('--help on every CLI prints usage and exits 0', () => {
  for (const name of ['sweep', 'runs', 'show']) {
    const r = runCliSync(name, ['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^usage: npm run ${name}`));
  }
});

test('--list and --dry-run print and start nothing', () => {
  const list = runCliSync('sweep', ['--list']);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /paper-table/);
  const dry = runCliSync('sweep', ['demo', '--profile', 'smoke', '--dry-run', '--db', join(dir, 'dry.db')]);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /^profile smoke: chosen with --profile\n/);
  assert.match(dry.stdout, /stage2/);
  assert.match(dry.stdout, /nothing started/);
});
