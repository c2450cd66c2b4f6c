// A sweep's free-text note (`npm run sweep <spec> -- --note "..."`): what the researcher wanted
// to find out, kept beside the results. Written once when the sweep starts; read by runs, show
// and the report.
import type { SweepRow } from './rows.ts';
import type { Store } from './store.ts';

export function setSweepNote(store: Store, sweepId: number, note: string | null): void {
  store.db.prepare('UPDATE sweeps SET note = ? WHERE id = ?').run(note, sweepId);
}

/** The sweeps a run belongs to, oldest first (a run shared by two sweeps trains once). */
export function sweepsOfRun(store: Store, runId: string): SweepRow[] {
  return store.db
    .prepare('SELECT s.* FROM sweeps s JOIN sweep_runs m ON m.sweep_id = s.id WHERE m.run_id = ? ORDER BY s.id')
    .all(runId) as SweepRow[];
}
