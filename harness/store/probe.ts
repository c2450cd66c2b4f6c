// A read-only look into a results database without opening it as a store (no migration, no
// write): whether some executor's runs are still marked running. `npm run report` asks it on
// every call, so it must cost one query and write nothing.
import Database from 'better-sqlite3';

/** False too for a file that is no results database: the report says so on its own. */
export function storeHasRunningRuns(db: string, executor: string): boolean {
  try {
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return conn.prepare(`SELECT 1 FROM runs WHERE status = 'running' AND executor = ? LIMIT 1`).get(executor) !== undefined;
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}
