// A run's notices: one-line facts its trainer reported that are not errors (a damaged checkpoint
// set aside, and where the run restarted from instead). Kept across attempts; npm run show lists them.
import type { Store } from './store.ts';

export interface RunNoticeRow {
  at: string;
  message: string;
}

export function addRunNotice(store: Store, runId: string, message: string, at: string = new Date().toISOString()): void {
  store.db.prepare('INSERT INTO run_notices (run_id, at, message) VALUES (?, ?, ?)').run(runId, at, message);
}

/** Oldest first. A database opened before migration 6 has none. */
export function runNotices(store: Store, runId: string): RunNoticeRow[] {
  const exists = store.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_notices'`).get();
  if (!exists) return [];
  return store.db.prepare('SELECT at, message FROM run_notices WHERE run_id = ? ORDER BY rowid').all(runId) as RunNoticeRow[];
}
