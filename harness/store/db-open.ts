// Opening a --db after db-file.ts's checks: reading commands open it read-only (nothing in the
// file changes; a read-only medium is read from a copy in memory); a sweep's --db is checked
// before the sweep prints or stores anything. Only a sweep creates, migrates or switches a
// database to WAL (openStore).
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../contract/errors.ts';
import { checkDbPath, classifyDb, refuseKind, withDbFile, type DbKind } from './db-file.ts';

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
