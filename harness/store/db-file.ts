// What a --db path holds, found before anything is written to it (issues 18 and 19): a path
// whose folder is a file, a file that is not SQLite, a SQLite file of another program, or a
// results database of a newer harness is the user's to fix, in one line, with the file left
// exactly as it was (bytes, user_version and journal mode). Reading commands open the file
// read-only; only a sweep creates, migrates or switches a database to WAL.
import { accessSync, closeSync, constants, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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

/**
 * Opens an existing results database read-only, refusing a missing file, a non-SQLite file, a
 * foreign SQLite file and a newer schema. An older schema is read as it is (every migration so
 * far only adds tables and columns, and the read side treats what is missing as not recorded).
 */
export function openReadOnlyDb(path: string, missing: string): { db: Database.Database; kind: DbKind } {
  checkDbPath(path);
  try {
    statSync(path);
  } catch {
    throw new UserError(missing);
  }
  return withDbFile(path, () => {
    const db = openReadOnlyFile(path);
    try {
      const kind = db.transaction(() => classifyDb(db))();
      if (kind.kind === 'empty') throw new UserError(`${path} is an empty database, not a results database yet; run a sweep into it first (npm run sweep <spec> -- --db ${path})`);
      refuseKind(path, kind);
      return { db, kind };
    } catch (err) {
      db.close();
      throw err;
    }
  });
}

const writable = (path: string): boolean => {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/**
 * SQLite cannot open a WAL-mode file read-only where it may not create the -shm beside it (a
 * read-only medium or folder): then, when no -wal holds unmerged commits, a copy in memory is
 * read instead (its header marked rollback-journal; the file itself is not touched).
 */
function openReadOnlyFile(path: string): Database.Database {
  let db: Database.Database | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.prepare('SELECT count(*) FROM sqlite_master').get(); // SQLite opens the file's WAL state on first read
    return db;
  } catch (err) {
    db?.close();
    const code = String((err as { code?: unknown }).code ?? '');
    if (!code.startsWith('SQLITE_CANTOPEN') || writable(dirname(path)) || fileSize(`${path}-wal`) > 0) throw err;
    const copy = readFileSync(path);
    if (copy.length > 100 && copy[18] === 2 && copy[19] === 2) copy[18] = copy[19] = 1;
    return new Database(copy, { readonly: true });
  }
}

/**
 * A sweep's --db checked before the sweep prints or stores anything: the path checks above, and
 * an existing file must be ours (or empty), not newer, and writable with its folder (the WAL
 * files go beside it). Opens nothing for writing.
 */
export function checkStoreFile(path: string): void {
  checkDbPath(path);
  if (fileSize(path) === 0) return;
  withDbFile(path, () => {
    const db = openReadOnlyFile(path);
    try {
      refuseKind(path, db.transaction(() => classifyDb(db))());
    } finally {
      db.close();
    }
  });
  if (!writable(path) || (!writable(dirname(path)) && fileSize(`${path}-wal`) === 0)) {
    throw new UserError(`--db ${path} is read-only (it or its folder cannot be written; a sweep stores its results there): make them writable, or choose another --db`);
  }
}
