// `npm run report` as a user runs it: a real process, its output and its exit code.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fillReportDb } from './report-fixture.ts';

const CLI = resolve('harness/cli/report.ts');
// The processes run in a temporary folder: load tsx from this repository, not from the cwd.
const TSX = import.meta.resolve('tsx');
let dir: string;
let db: string;

function report(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', TSX, CLI, ...args], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'report-cli-'));
  db = join(dir, 'results.db');
  fillReportDb(db);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('user mistakes: one line on stderr, exit 2', () => {
  for (const [args, pattern] of [
    [['--db', join(dir, 'nope.db')], /^no results database at .*nope\.db: run a sweep first/],
    [['--db', db, '--sweep', '42'], /^sweep 42 not found in .* \(known ids: 1\)/],
    [['--db', db, '--format', 'xml'], /^report: unknown --format 'xml'; use one of terminal, md, csv, json/],
    [['--db', db, '--sweep', 'nosuchspec'], /^no sweep of spec 'nosuchspec' in .* \(specs there: paper-table\)/],
    [['--db', db, '--static'], /^report: --static applies to the HTML report; add --html FILE/],
    [['--bogus'], /^report: Unknown option '--bogus'/],
    [['--db', CLI], /is not a results database/],
  ] as const) {
    const r = report(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.replace(/^error: /, ''), pattern);
    assert.equal(r.stdout, '');
  }
});

test('--help prints the usage and exits 0', () => {
  const r = report('--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /usage: npm run report/);
  assert.match(r.stdout, /--html FILE/);
});

test('the default is the terminal table of the latest sweep; --format md --out FILE writes it; --html writes the report', () => {
  const term = report('--db', db);
  assert.equal(term.code, 0, term.stderr);
  assert.match(term.stdout, /^sweep 1 \(paper-table, done/);
  assert.match(term.stdout, /profile tiny/);
  assert.match(term.stdout, /baseline diverged/);

  // A spec name picks its latest sweep; the same sweep named twice is read once.
  const byName = report('--db', db, '--sweep', 'paper-table', '--sweep', '1', '--format', 'csv');
  assert.equal(byName.code, 0, byName.stderr);
  assert.match(byName.stdout.split('\n')[1]!, /^1,tiny,gpt2,full,/);

  const out = join(dir, 'out', 'table.md');
  const html = join(dir, 'out', 'report.html');
  const r = report('--db', db, '--sweep', '1', '--format', 'md', '--out', out, '--html', html);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /wrote .*table\.md/);
  assert.match(readFileSync(out, 'utf8'), /^## sweep 1 \(paper-table/);
  assert.ok(existsSync(html));
  const page = readFileSync(html, 'utf8');
  assert.match(page, /data-chart="rank-growth"/);
  assert.match(page, /<table class="comparison"/);
});
