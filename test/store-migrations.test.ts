// Schema migrations: a fresh database gets them all; an older one is upgraded in place with its
// rows kept; a database newer than the harness is refused with one clear line.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../harness/store/schema.ts';
import { openStore } from '../harness/store/store.ts';
import { UserError } from '../harness/contract/errors.ts';
import { testPlan } from './fixtures/harness-plans.ts';

const dir = mkdtempSync(join(tmpdir(), 'store-mig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const columns = (db: Database.Database, table: string): string[] =>
  (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);

test('a fresh database gets every migration', () => {
  const store = openStore(join(dir, 'fresh.db'));
  assert.equal(store.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.ok(columns(store.db, 'runs').includes('owner_pid'));
  store.close();
  // Opening again applies nothing twice.
  const again = openStore(join(dir, 'fresh.db'));
  assert.equal(again.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  again.close();
});

test('an existing version-1 database is upgraded with its rows kept', () => {
  const path = join(dir, 'old.db');
  const old = openStore(path, { migrateTo: 1 });
  assert.equal(old.db.pragma('user_version', { simple: true }), 1);
  assert.ok(!columns(old.db, 'runs').includes('owner_pid'));
  const p = testPlan({ name: 'kept', runsDir: join(dir, 'runs') });
  const sweep = old.db
    .prepare(`INSERT INTO sweeps (spec, profile, args, created_at, status) VALUES ('t', 'test', '{}', '2026-01-01', 'done')`)
    .run().lastInsertRowid;
  old.db
    .prepare(
      `INSERT INTO runs (id, name, config, profile, model, method, precision, stage, seed, axes, status, run_dir, created_at)
       VALUES (?, 'kept', '{}', 'test', 'gpt2', 'full', 'fp32', 'single', 1, '{}', 'done', 'x', '2026-01-01')`,
    )
    .run(p.id);
  old.db.prepare(`INSERT INTO sweep_runs VALUES (?, ?, 0)`).run(sweep, p.id);
  old.close();

  const store = openStore(path);
  assert.equal(store.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.ok(columns(store.db, 'runs').includes('owner_host'));
  assert.equal(store.getRun(p.id)!.status, 'done');
  assert.equal(store.getRun(p.id)!.owner_pid, null);
  assert.equal(store.sweepRuns(Number(sweep)).length, 1);
  store.close();
});

test('a database newer than the harness is refused with a UserError', () => {
  const path = join(dir, 'future.db');
  const db = new Database(path);
  // Our tables under a schema version this harness does not know yet (a newer harness wrote it).
  for (const m of MIGRATIONS) db.exec(m);
  db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  db.close();
  assert.throws(() => openStore(path), (e: unknown) => e instanceof UserError && /newer than this harness/.test(e.message));
  // An empty file that some other program versioned is not ours: refused as another program's.
  const other = join(dir, 'other.db');
  const o = new Database(other);
  o.pragma('user_version = 99');
  o.close();
  assert.throws(() => openStore(other), (e: unknown) => e instanceof UserError && /another program/.test(e.message));
});
