// `--note` on a sweep: stored with the sweep (migration 3) and shown by runs, show and report;
// `runs --format` for tools. The sweep runs the scripted child (real processes, real store).
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCliSync, startSweep } from './fixtures/harness-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-note-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 'r.db');
const NOTE = 'does stage 2 recover the loss lost at pruning?';

test('a sweep note is stored and shown by runs, show and report; runs --format csv / json / md', async () => {
  const sweep = startSweep(['demo', '--profile', 'smoke', '--db', db, '--out', join(dir, 'runs'), '--note', NOTE], [{ kind: 'ok', steps: 3 }]);
  assert.equal(await sweep.exited, 0, sweep.output());

  const runs = runCliSync('runs', ['--db', db, '--sweep', 'latest']);
  assert.equal(runs.status, 0, runs.stderr);
  assert.match(runs.stdout, new RegExp(`^sweep 1: demo \\(profile smoke\\), done, started .*\\nnote: ${NOTE.replace('?', '\\?')}\\n`));
  assert.match(runs.stdout, /2 run\(s\): 2 done/);
  assert.match(runCliSync('runs', ['--db', db]).stdout, new RegExp(`^note \\(sweep 1, demo\\): ${NOTE.replace('?', '\\?')}`));

  const json = JSON.parse(runCliSync('runs', ['--db', db, '--format', 'json']).stdout) as { name: string; status: string; id: string }[];
  assert.deepEqual(json.map((r) => r.status), ['done', 'done']);
  assert.equal(json[0]!.id.length > 10, true, 'json keeps the full id');
  const csv = runCliSync('runs', ['--db', db, '--format', 'csv']).stdout.trim().split('\n');
  assert.equal(csv.length, 3);
  assert.match(csv[0]!, /^id,name,status,profile,model,method/);
  assert.match(runCliSync('runs', ['--db', db, '--format', 'md']).stdout, /\| id \| name \| status \|/);
  const bad = runCliSync('runs', ['--db', db, '--format', 'xml']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--format xml: use one of terminal, md, csv, json/);

  const show = runCliSync('show', ['--db', db, json[0]!.name]);
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`sweep 1 +demo \\(profile smoke, done\\): ${NOTE.replace('?', '\\?')}`));

  const report = runCliSync('report', ['--db', db, '--format', 'md']);
  assert.equal(report.status, 0, report.stderr);
  assert.ok(report.stdout.includes(`note (sweep 1): ${NOTE}`), report.stdout);

  const empty = runCliSync('sweep', ['demo', '--profile', 'smoke', '--db', db, '--note', ' ']);
  assert.equal(empty.status, 2);
  assert.match(empty.stderr, /--note needs some text/);
});
