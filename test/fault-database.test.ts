// Bad --db files and unwritable outputs, through the real CLIs (issues 18 and 19): a file that is
// not SQLite, a --db whose folder is a file, another program's SQLite file, a results database
// of a newer harness in rollback-journal mode, a read-only database, an unwritable report
// output. Each: one line on stderr, exit 2, and the file exactly as it was (bytes, user_version,
// journal mode, no -wal / -shm / -journal beside it). Reading commands change nothing.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../harness/store/schema.ts';
import { openStore } from '../harness/store/store.ts';
import { fillReportDb } from './report-fixture.ts';
import { REPO } from './fixtures/harness-cli.ts';
import { mountReadOnly } from './fixtures/read-only-place.ts';

const dir = mkdtempSync(join(tmpdir(), 'fault-db-'));
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
  rmSync(dir, { recursive: true, force: true });
});

interface Result { status: number | null; stdout: string; stderr: string }

/** A real CLI as a process of its own (node + tsx), asynchronously so two can run at once. */
function cli(name: string, args: string[]): Promise<Result> {
  return new Promise((resolveResult) => {
    execFile(process.execPath, ['--import', 'tsx', join(REPO, 'harness', 'cli', `${name}.ts`), ...args], { cwd: REPO, timeout: 60_000 }, (err, stdout, stderr) => {
      resolveResult({ status: err ? ((err as { code?: unknown }).code as number | null) ?? null : 0, stdout, stderr });
    });
  });
}

/** Every command that takes --db, as a user would type it (the sweep with the tiniest profile). */
const COMMANDS: [string, string[]][] = [
  ['sweep', ['demo', '--profile', 'smoke', '--out', join(dir, 'runs')]],
  ['runs', []],
  ['show', ['gpt2']],
  ['report', []],
];

/** Runs every command on db at once (each refuses within its start-up time). */
async function everyCommand(db: string): Promise<[string, Result][]> {
  const results = await Promise.all(COMMANDS.map(([name, args]) => cli(name, [...args, '--db', db])));
  return COMMANDS.map(([name], i) => [name, results[i]!]);
}

function assertOneLine(name: string, r: Result, says: RegExp): void {
  assert.equal(r.status, 2, `${name}: exit ${r.status}\n${r.stderr}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: ${r.stderr}`);
  assert.match(r.stderr, says, name);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack`);
  assert.equal(r.stdout, '', `${name} printed nothing before the line`);
}

/** A run name the report fixture stored (show takes a name). */
const someRun = (db: string): string => {
  const conn = new Database(db, { readonly: true });
  try {
    return (conn.prepare(`SELECT name FROM runs ORDER BY created_at, name LIMIT 1`).get() as { name: string }).name;
  } finally {
    conn.close();
  }
};

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const SIDE_FILES = ['-wal', '-shm', '-journal'];

/**
 * What must not change: bytes, no side files; for SQLite, user_version and journal mode. A
 * reader of a WAL database leaves SQLite's empty -wal and its -shm index as any connection does:
 * with wal true those count only when the -wal holds something.
 */
function fileState(path: string, wal = false): string {
  const side = SIDE_FILES.filter((s) => existsSync(path + s) && !(wal && (s === '-shm' || (s === '-wal' && statSync(path + s).size === 0))));
  const bytes = readFileSync(path);
  let sqlite = '';
  if (bytes.subarray(0, 15).toString() === 'SQLite format 3') {
    // Bytes 18/19: 1 = rollback journal, 2 = WAL (read from the header, opening nothing).
    sqlite = ` journal ${bytes[18]}/${bytes[19]} user_version ${bytes.readUInt32BE(60)}`;
  }
  return `${sha(path)} side [${side.join(',')}]${sqlite}`;
}

test('a --db that is not SQLite, and a --db whose folder is a file: one line, exit 2, the file untouched (every command)', async () => {
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'my notes, not a database\n'.repeat(100));
  const before = fileState(text);
  for (const [name, r] of await everyCommand(text)) {
    assertOneLine(name, r, /--db .*notes\.txt is not a results database: not a SQLite file/);
    assert.equal(fileState(text), before, `${name} left the file as it was`);
  }
  const under = join(text, 'inrank.db');
  for (const [name, r] of await everyCommand(under)) {
    assertOneLine(name, r, /notes\.txt is a file, not a folder; choose a --db in a folder/);
    assert.equal(fileState(text), before, `${name} left the file as it was`);
  }
});

test("another program's SQLite file is refused by every command, with its bytes, user_version and journal mode unchanged", async () => {
  const foreign = join(dir, 'other.db');
  const db = new Database(foreign);
  db.exec(`CREATE TABLE contacts (name TEXT, phone TEXT); INSERT INTO contacts VALUES ('a', '1');`);
  db.pragma('user_version = 3');
  db.close();
  const before = fileState(foreign);
  assert.match(before, /journal 1\/1 user_version 3$/);
  for (const [name, r] of await everyCommand(foreign)) {
    assertOneLine(name, r, /other\.db is not a results database: a SQLite file of another program \(tables contacts/);
    assert.equal(fileState(foreign), before, `${name} changed nothing`);
  }
});

test('a future-schema database in rollback-journal mode is refused before it is switched to WAL (every command)', async () => {
  const future = join(dir, 'future.db');
  openStore(future).close();
  const db = new Database(future);
  db.pragma('journal_mode = DELETE');
  db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  db.close();
  const before = fileState(future);
  assert.match(before, new RegExp(`side \\[\\] journal 1/1 user_version ${MIGRATIONS.length + 1}$`));
  for (const [name, r] of await everyCommand(future)) {
    assertOneLine(name, r, /has schema version \d+, newer than this harness knows .*left untouched/);
    assert.equal(fileState(future), before, `${name} changed nothing`);
  }
});

test('runs, show and report open a results database read-only: nothing in it changes', async () => {
  const db = join(dir, 'results.db');
  fillReportDb(db);
  // Rollback-journal mode, so that any write (even a switch to WAL) would show in the bytes.
  const conn = new Database(db);
  conn.pragma('journal_mode = DELETE');
  conn.close();
  const before = fileState(db);
  for (const [name, args] of [['runs', []], ['show', [someRun(db)]], ['report', ['--format', 'json']]] as const) {
    const r = await cli(name, [...args, '--db', db]);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    assert.equal(fileState(db), before, `${name} changed nothing`);
  }
});

test('a database of an older schema is read as it is by runs, show and report, and stays at its version', async () => {
  const db = join(dir, 'v1.db');
  const old = openStore(db, { migrateTo: 1 });
  const sweep = old.db.prepare(`INSERT INTO sweeps (spec, profile, args, created_at, status) VALUES ('old', 'cpu', '{}', '2026-01-01', 'done')`).run().lastInsertRowid;
  old.db
    .prepare(
      `INSERT INTO runs (id, name, config, profile, model, method, precision, stage, seed, axes, status, run_dir, created_at, started_at, test_ppl)
       VALUES ('0123abcd', 'gpt2-full-old', '{}', 'cpu', 'gpt2', 'full', 'fp32', 'single', 1, '{}', 'done', 'x', '2026-01-01', '2026-01-01', 42.5)`,
    )
    .run();
  old.db.prepare(`INSERT INTO sweep_runs VALUES (?, '0123abcd', 0)`).run(sweep);
  old.close();
  const before = fileState(db, true);
  const [runs, show, report] = await Promise.all([cli('runs', ['--db', db]), cli('show', ['gpt2-full-old', '--db', db]), cli('report', ['--db', db, '--format', 'json'])]);
  for (const [name, r] of [['runs', runs], ['show', show], ['report', report]] as const) assert.equal(r.status, 0, `${name}: ${r.stderr}`);
  assert.match(runs.stdout, /gpt2-full-old/);
  assert.match(show.stdout, /provenance\n\s+recorded\s+no \(the run started before provenance was kept\)/);
  assert.equal((JSON.parse(report.stdout) as { provenance: Record<string, unknown> }).provenance['0123abcd'], null);
  assert.equal(fileState(db, true), before, 'still version 1, nothing written');
});

test('a read-only --db: the sweep refuses it in one line; runs, show and report still read it', async (t) => {
  let run = '';
  const place = mountReadOnly(join(dir, 'ro'), (path) => {
    fillReportDb(join(path, 'results.db'));
    run = someRun(join(path, 'results.db'));
  });
  if (!place) return t.skip('no read-only place here (needs root with mount, or a non-root user)');
  cleanups.push(place.release);
  const db = join(place.path, 'results.db');
  const before = fileState(db);
  const sweep = await cli('sweep', ['demo', '--profile', 'smoke', '--out', join(dir, 'runs'), '--db', db]);
  assertOneLine('sweep', sweep, /--db .*results\.db is read-only .*choose another --db/);
  for (const [name, args] of [['runs', []], ['show', [run]], ['report', []]] as const) {
    const r = await cli(name, [...args, '--db', db]);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
  }
  assert.equal(fileState(db), before);
});

test('an unwritable report --out or --html: one line, exit 2', async () => {
  const db = join(dir, 'report.db');
  fillReportDb(db);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const folder = join(dir, 'a-folder');
  mkdirSync(folder);
  const cases: [string[], RegExp][] = [
    [['--out', join(file, 'table.md')], /^error: cannot write --out .*a-file\/table\.md: a folder on its path is a file/],
    [['--out', folder], /^error: cannot write --out .*a-folder: it is a folder \(EISDIR\); choose another --out/],
    [['--html', join(file, 'r.html')], /^error: cannot write --html .*r\.html: a folder on its path is a file/],
  ];
  const results = await Promise.all(cases.map(([args]) => cli('report', ['--db', db, ...args])));
  results.forEach((r, i) => assertOneLine(cases[i]![0].join(' '), r, cases[i]![1]));
  assert.equal(readFileSync(file, 'utf8'), 'x');
});
