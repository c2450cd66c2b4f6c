// What a --db path holds, found before anything is written to it (issues 18 and 19): a path
// whose folder is a file, a file that is not SQLite, a SQLite file of another program, or a
// results database of a newer harness is the user's to fix, in one line, with the file left
// exactly as it was (bytes, user_version and journal mode). Opening it: db-open.ts.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { UserError } from '../contract/errors.ts';
import { MIGRATIONS } from './schema.ts';

const SQLITE_MAGIC = 'SQLite format 3\u0000';
const NOT_SQLITE = (path: string): string =>
  `--db ${path} is not a results database: not a SQLite file (left untouched); pass the database a sweep wrote, or a new file name`;

/** What an opened SQLite file is to this harness. */
export type DbKind =
  | { kind: 'empty' }
  | { kind: 'results'; version: number }
  | { kind: 'foreign'; why: string }
  | { kind: 'future'; version: number };

/** The first ancestor of path that exists, and whether it is a folder. */
function nearestExisting(path: string): { path: string; isDir: boolean } {
  let p = dirname(path);
  for (;;) {
    try {
      return { path: p, isDir: statSync(p).isDirectory() };
    } catch {
      const up = dirname(p);
      if (up === p) return { path: p, isDir: true };
      p = up;
    }
  }
}

/** The first bytes of a file (fewer when it is shorter). */
function headBytes(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks a --db path without opening it as a database: a folder on the way that is a file, the
 * path itself a folder, or an existing file that is not SQLite. A missing file passes (a sweep
 * creates it; reading commands say so themselves). An empty file passes: SQLite's fresh file.
 */
export function checkDbPath(path: string): void {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'ENOENT') {
      const up = nearestExisting(path);
      if (!up.isDir) throw new UserError(`--db ${path}: ${up.path} is a file, not a folder; choose a --db in a folder`);
      return;
    }
    if (code === 'EACCES') throw new UserError(`--db ${path}: permission denied; choose a --db you can read`);
    throw err;
  }
  if (stat.isDirectory()) throw new UserError(`--db ${path} is a folder; give the results database file (e.g. ${path}/inrank.db)`);
  if (stat.size === 0) return;
  let head: Buffer;
  try {
    head = headBytes(path, SQLITE_MAGIC.length);
  } catch (err) {
    throw new UserError(`--db ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); choose a --db you can read`);
  }
  if (head.toString('latin1') !== SQLITE_MAGIC) {
    throw new UserError(NOT_SQLITE(path));
  }
}

/** The harness's own tables, with a column of each that another program's table would not have. */
const OUR_TABLES: Record<string, string> = { sweeps: 'profile', runs: 'run_dir' };

/** What the open database is: fresh, ours (and its schema version), another program's, or newer than this harness. */
export function classifyDb(db: Database.Database): DbKind {
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = new Set((db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name));
  const ours = Object.entries(OUR_TABLES).every(([table, column]) =>
    tables.has(table) && (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).some((c) => c.name === column));
  if (!ours) {
    if (tables.size === 0 && version === 0) return { kind: 'empty' };
    return { kind: 'foreign', why: tables.size ? `tables ${[...tables].slice(0, 4).join(', ')}${tables.size > 4 ? ', ...' : ''}, no runs/sweeps of this harness` : `user_version ${version}, no tables` };
  }
  if (version === 0) return { kind: 'foreign', why: 'harness-like tables but no schema version' };
  if (version > MIGRATIONS.length) return { kind: 'future', version };
  return { kind: 'results', version };
}

/** The one line for a file this harness must not read or write. */
export function refuseKind(path: string, k: DbKind): void {
  if (k.kind === 'foreign') {
    throw new UserError(`--db ${path} is not a results database: a SQLite file of another program (${k.why}; left untouched); pass the database a sweep wrote, or a new file name`);
  }
  if (k.kind === 'future') {
    throw new UserError(
      `results database ${path} has schema version ${k.version}, newer than this harness knows (${MIGRATIONS.length}); it was left untouched: update the harness or use another --db`,
    );
  }
}

/** SQLite's complaints about a file that are about the file, not about this program. */
export function sqliteFileError(path: string, err: unknown): UserError | null {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return null;
  const msg = (err as Error).message.split('\n')[0];
  if (code === 'SQLITE_NOTADB') return new UserError(NOT_SQLITE(path));
  if (code.startsWith('SQLITE_CORRUPT')) return new UserError(`--db ${path} is damaged (${msg}); restore it from a copy or use another --db`);
  if (code.startsWith('SQLITE_READONLY')) return new UserError(`--db ${path} is read-only (${msg}); make it and its folder writable, or choose another --db`);
  if (code.startsWith('SQLITE_CANTOPEN')) return new UserError(`--db ${path} cannot be opened (${msg}); check that it and its folder are readable (a sweep needs them writable), or choose another --db`);
  if (code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH')) return new UserError(`--db ${path}: permission denied (${msg}); choose another --db`);
  return null;
}

/** Runs fn, turning SQLite's file complaints into one-line UserErrors. */
export function withDbFile<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw sqliteFileError(path, err) ?? err;
  }
}
