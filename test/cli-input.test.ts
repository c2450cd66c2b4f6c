// User mistakes on the command line: exactly one line on stderr, nothing on stdout, exit 2.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore } from '../harness/store/store.ts';
import { runCliSync } from './fixtures/harness-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 'r.db');
openStore(db).close();

const cases: Array<{ cli: string; args: string[]; says: RegExp }> = [
  { cli: 'sweep', args: ['no-such-spec'], says: /unknown spec 'no-such-spec'/ },
  { cli: 'sweep', args: ['demo', 'train.lrr=3e-4', '--dry-run'], says: /unknown override key 'train\.lrr' \(did you mean 'train\.lr'\?\)/ },
  { cli: 'sweep', args: ['demo', '--profile', 'paper', '--dry-run'], says: /profile paper needs .*--data-dir/ },
  { cli: 'sweep', args: ['demo', '--bogus'], says: /Unknown option '--bogus'/ },
  { cli: 'sweep', args: ['demo', '--devices', 'many'], says: /--devices 'many' is not understood/ },
  { cli: 'sweep', args: ['demo', '--retries', '-1'], says: /--retries/ },
  { cli: 'sweep', args: ['demo', '--timeout', 'soon'], says: /--timeout soon/ },
  { cli: 'sweep', args: ['demo', 'stray'], says: /unexpected argument 'stray'/ },
  { cli: 'sweep', args: [], says: /give a spec name/ },
  { cli: 'runs', args: ['--db', db, '--status', 'finished'], says: /--status finished: not a run status/ },
  { cli: 'runs', args: ['--db', join(dir, 'missing.db')], says: /no results database at/ },
  { cli: 'runs', args: ['--db', db, '--sweep', '7'], says: /--sweep 7: no such sweep/ },
  { cli: 'show', args: ['--db', db, 'nothing'], says: /no stored run matches 'nothing'/ },
  { cli: 'show', args: ['--db', db], says: /give one run/ },
];

for (const c of cases) {
  test(`${c.cli} ${c.args.join(' ')}: one line, exit 2`, () => {
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
