// Exact event accounting across restarts: each (run, step, split) metric row and each rank
// decision is stored once, and the rows of a run are those of the timeline its checkpoint
// continues. A start drops the rows after the step it starts from (a fresh start, resumedFrom
// null, drops them all), and the checkpoint rows of the timeline it abandons; a repeated event
// (a resume from a `final` checkpoint evaluates again) replaces its row instead of adding one:
// store.ts deletes the same key before each insert (its dropMetric / dropRank statements).
import type Database from 'better-sqlite3';

/** Checkpoints a run writes of its own; 'pruned' and 'handover' are what it hands a later stage. */
const OWN_CHECKPOINTS = `kind IN ('periodic', 'interrupt', 'final')`;

/** Drops what a start from `fromStep` (null: from scratch) will write again or never reach. */
export function truncateForStart(db: Database.Database, runId: string, fromStep: number | null): void {
  const after = fromStep ?? -1;
  db.prepare(`DELETE FROM metrics WHERE run_id = ? AND step > ?`).run(runId, after);
  db.prepare(`DELETE FROM rank_events WHERE run_id = ? AND step > ?`).run(runId, after);
  db.prepare(`DELETE FROM artifacts WHERE run_id = ? AND ${OWN_CHECKPOINTS} AND step > ?`).run(runId, after);
}

/**
 * The last step whose events the store holds in full for this run: its latest recorded own
 * checkpoint (every event before a checkpoint event was stored before it), or where the run
 * starts (a stage 2: the step its stage 1 handed over; else 0).
 */
export function recordedThrough(db: Database.Database, runId: string): number {
  const own = db.prepare(`SELECT MAX(step) AS s FROM artifacts WHERE run_id = ? AND ${OWN_CHECKPOINTS}`).get(runId) as { s: number | null };
  const handover = db
    .prepare(
      `SELECT MAX(a.step) AS s FROM runs r JOIN artifacts a ON a.run_id = r.depends_on
       WHERE r.id = ? AND a.kind IN ('handover', 'pruned')`,
    )
    .get(runId) as { s: number | null };
  return Math.max(own.s ?? 0, handover.s ?? 0);
}
