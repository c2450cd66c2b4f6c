// Slurm shell injection (issue 19, item 5), through the real CLI. A name with a newline used to
// reach the batch script's comment line and run as a command; names are now refused at spec
// validation (one line, exit 2, nothing submitted or stored), and every other user-derived
// string in the script is quoted: a --out folder with spaces, quotes, $ and backquotes makes
// a real job on the one-node test cluster write exactly there.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { batchScript } from '../harness/schedule/slurm/script.ts';
import { openStore } from '../harness/store/store.ts';
import { REPO, runCliSync, writeSpec } from './fixtures/harness-cli.ts';
import { SCRIPTED_CHILD } from './fixtures/harness-scripts.ts';
import { ensureCluster } from './slurm-cluster-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'fault-slurm-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const specs = join(dir, 'specs');
const pwned = join(dir, 'PWNED');
writeSpec(specs, 'one', `{ description: 'one run', axes: { method: ['full'] } }`);
writeSpec(specs, 'base-name', `{ description: 'a model name that is a command', axes: { method: ['full'] }, base: { model: { name: 'x$(touch ${pwned})' } } }`);
writeSpec(specs, 'model-key', `{ description: 'a profile model key with a newline', axes: { model: ['evil'] }, profiles: { smoke: { models: { 'evil\\ntouch ${pwned}': { nEmbd: 48 } } } } }`);

const injections: Array<{ what: string; args: string[]; says: RegExp }> = [
  { what: 'an override with a newline', args: ['one', `model.name=x\ntouch ${pwned}`], says: /override model\.name: model\.name: a name is one word of letters, digits and \. _ \+ -/ },
  { what: 'a --set with $(...)', args: ['one', '--set', `model.name=$(touch ${pwned})`], says: /model\.name: a name is one word/ },
  { what: 'a model axis with a newline', args: ['one', `model=gpt2,x\ntouch ${pwned}`], says: /model 'x\\ntouch .*PWNED' is not in the profile/ },
  { what: "a spec's base model name", args: ['base-name'], says: /base-name\.ts:\d+: .*base\.model\.name: a name is one word/ },
  { what: "a profile's model key", args: ['model-key'], says: /model-key\.ts:\d+: .*profiles\.smoke\.models\.evil\\ntouch .*: model name: a name is one word/ },
];

for (const c of injections) {
  test(`slurm injection refused: ${c.what} is one line, exit 2, nothing submitted or stored`, () => {
    const db = join(dir, 'never.db');
    const r = runCliSync('sweep', [...c.args, '--specs-dir', specs, '--profile', 'smoke', '--executor', 'slurm', '--db', db]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: [^\n]*\n$/, 'exactly one line');
    assert.match(r.stderr, c.says);
    assert.ok(!existsSync(pwned), 'the injected command never ran');
    assert.ok(!existsSync(db), 'nothing stored');
  });
}

/** A folder name with everything a shell reads specially: spaces, both quotes, $, backquotes, a newline. */
const oddName = `it's a "run" dir $HOME \`touch PWNED\` $(touch PWNED)\nnext`;
/** Where those commands would have left their file: the job's working directory (the repository) or the test's folder. */
const nothingRan = (): boolean => !existsSync(pwned) && !existsSync(join(REPO, 'PWNED'));

test('the batch script quotes the run folder: bash reads back exactly the path given', () => {
  const outDir = join(dir, oddName);
  const script = batchScript({ runId: 'abc', name: 'bad\nname; touch x', outDir, repoRoot: dir, command: ['node', 'a b.ts'], env: { NOTE: `a 'b' $c` } });
  assert.match(script.split('\n')[1]!, /^# InRank harness run abc: bad_name__touch_x$/, 'a name that skipped validation still cannot add a line');
  // Everything above the trainer's command: the folder, the working directory and the exports.
  const head = script.split('\n').slice(0, script.split('\n').findIndex((l) => l.startsWith('config=')));
  const printed = execFileSync('bash', ['-c', `${head.join('\n')}\nprintf '%s\\0%s' "$out" "$NOTE"`], { encoding: 'utf8' });
  assert.deepEqual(printed.split('\0'), [outDir, `a 'b' $c`]);
  assert.ok(nothingRan());
});

test('a real Slurm job writes into a --out folder with spaces, quotes and $ in its name', { timeout: 300_000 }, async () => {
  await ensureCluster();
  const out = join(dir, oddName);
  const db = join(dir, 'slurm.db');
  const r = runCliSync('sweep', ['one', '--specs-dir', specs, '--profile', 'smoke', '--executor', 'slurm', '--slurm-poll-ms', '300', '--out', out, '--db', db, '--trainer', SCRIPTED_CHILD]);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const store = openStore(db);
  const runs = store.listRuns();
  store.close();
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.status, 'done', JSON.stringify(runs[0]));
  assert.equal(runs[0]!.executor, 'slurm');
  const runDir = join(out, runs[0]!.id);
  assert.equal(runs[0]!.run_dir, runDir);
  const files = readdirSync(runDir);
  for (const f of ['events.jsonl', 'train.log', 'config.json']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
  assert.ok(files.some((f) => /^slurm-\d+\.exit$/.test(f)), 'the job wrote its exit code into the folder');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('it')), [oddName], 'no second folder from a word split or an expanded $');
  assert.ok(nothingRan(), 'no command in the folder name ran');
});
