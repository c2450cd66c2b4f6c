// A search's state beside its runs (migration 5): the search, its trials, its ASHA rungs and
// decisions. Typed functions over the Store's connection, so the SQL stays in store/.
import type { Store } from './store.ts';

export type TrialStatus = 'pending' | 'done' | 'pruned' | 'diverged' | 'failed';

export interface SearchRow {
  id: number;
  key: string;
  spec: string;
  profile: string;
  strategy: string;
  seed: number;
  settings: string;
  created_at: string;
}

export interface TrialRow {
  search_id: number;
  trial: number;
  params: string;
  run_id: string;
  run_ids: string;
  basis: number;
  reason: string;
  status: TrialStatus;
  value: number | null;
  tokens: number | null;
  note: string | null;
  proposed_at: string;
  finished_at: string | null;
}

export interface RungRow {
  search_id: number;
  trial: number;
  rung: number;
  tokens: number;
  run_id: string;
  step: number;
  value: number;
  decision: 'continue' | 'prune';
  reason: string;
  at: string;
}

const now = (): string => new Date().toISOString();

/** The search with this key, created when new (a rerun of the same search finds its trials). */
export function openSearch(store: Store, s: { key: string; spec: string; profile: string; strategy: string; seed: number; settings: unknown }): SearchRow {
  store.db
    .prepare(`INSERT OR IGNORE INTO searches (key, spec, profile, strategy, seed, settings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
    .run(s.key, s.spec, s.profile, s.strategy, s.seed, JSON.stringify(s.settings), now());
  return store.db.prepare(`SELECT * FROM searches WHERE key = ?`).get(s.key) as SearchRow;
}

export function listSearches(store: Store): SearchRow[] {
  return store.db.prepare(`SELECT * FROM searches ORDER BY id`).all() as SearchRow[];
}

export function searchTrials(store: Store, searchId: number): TrialRow[] {
  return store.db.prepare(`SELECT * FROM search_trials WHERE search_id = ? ORDER BY trial`).all(searchId) as TrialRow[];
}

export function addTrial(
  store: Store,
  t: { searchId: number; trial: number; params: unknown; runIds: string[]; basis: number; reason: string },
): void {
  store.db
    .prepare(
      `INSERT INTO search_trials (search_id, trial, params, run_id, run_ids, basis, reason, status, proposed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
    )
    .run(t.searchId, t.trial, JSON.stringify(t.params), t.runIds[t.runIds.length - 1], JSON.stringify(t.runIds), t.basis, t.reason, now());
}

export function finishTrial(
  store: Store,
  searchId: number,
  trial: number,
  outcome: { status: TrialStatus; value: number | null; tokens: number | null; note: string | null },
): void {
  store.db
    .prepare(`UPDATE search_trials SET status = ?, value = ?, tokens = ?, note = ?, finished_at = ? WHERE search_id = ? AND trial = ?`)
    .run(outcome.status, outcome.value, outcome.tokens, outcome.note, now(), searchId, trial);
}

export function rungDecision(store: Store, searchId: number, trial: number, rung: number): RungRow | undefined {
  return store.db.prepare(`SELECT * FROM search_rungs WHERE search_id = ? AND trial = ? AND rung = ?`).get(searchId, trial, rung) as
    | RungRow
    | undefined;
}

/** The rung where a trial was pruned, if it was. */
export function prunedRung(store: Store, searchId: number, trial: number): RungRow | undefined {
  return store.db.prepare(`SELECT * FROM search_rungs WHERE search_id = ? AND trial = ? AND decision = 'prune'`).get(searchId, trial) as
    | RungRow
    | undefined;
}

/** Validation perplexities recorded at a rung by the given trials. */
export function rungValues(store: Store, searchId: number, rung: number, trials: readonly number[]): number[] {
  if (trials.length === 0) return [];
  const rows = store.db
    .prepare(`SELECT trial, value FROM search_rungs WHERE search_id = ? AND rung = ? ORDER BY trial`)
    .all(searchId, rung) as { trial: number; value: number }[];
  const wanted = new Set(trials);
  return rows.filter((r) => wanted.has(r.trial)).map((r) => r.value);
}

export function recordRung(store: Store, r: Omit<RungRow, 'at'>): void {
  store.db
    .prepare(
      `INSERT OR IGNORE INTO search_rungs (search_id, trial, rung, tokens, run_id, step, value, decision, reason, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(r.search_id, r.trial, r.rung, r.tokens, r.run_id, r.step, r.value, r.decision, r.reason, now());
}

export function searchRungs(store: Store, searchId: number): RungRow[] {
  return store.db.prepare(`SELECT * FROM search_rungs WHERE search_id = ? ORDER BY trial, rung`).all(searchId) as RungRow[];
}

/**
 * The search a `show` argument names: a spec name (its newest search) or a sweep id (the newest
 * search of that sweep's spec and profile); undefined when it names none.
 */
export function findSearch(store: Pick<Store, 'db'>, ref: string): SearchRow | undefined {
  // A database older than migration 5, opened read-only, has no searches.
  if (!store.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'searches'`).get()) return undefined;
  if (/^\d+$/.test(ref)) {
    const sweep = store.db.prepare(`SELECT spec, profile FROM sweeps WHERE id = ?`).get(Number(ref)) as { spec: string; profile: string } | undefined;
    if (!sweep) return undefined;
    return store.db.prepare(`SELECT * FROM searches WHERE spec = ? AND profile = ? ORDER BY id DESC LIMIT 1`).get(sweep.spec, sweep.profile) as
      | SearchRow
      | undefined;
  }
  return store.db.prepare(`SELECT * FROM searches WHERE spec = ? ORDER BY id DESC LIMIT 1`).get(ref) as SearchRow | undefined;
}

/** A trial of a sweep's report: its search's settings (JSON) and, when pruned, its validation perplexity at that rung. */
export interface SweepTrial extends TrialRow {
  settings: string;
  pruned_value: number | null;
}

/** The trials whose last run belongs to a sweep (for its report); none in a database from before searches. */
export function trialsOfSweep(db: Store['db'], sweepId: number): SweepTrial[] {
  const has = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_trials'`).get();
  if (!has) return [];
  return db
    .prepare(
      `SELECT t.*, s.settings AS settings,
         (SELECT g.value FROM search_rungs g WHERE g.search_id = t.search_id AND g.trial = t.trial AND g.decision = 'prune') AS pruned_value
       FROM search_trials t JOIN searches s ON s.id = t.search_id
       WHERE t.run_id IN (SELECT run_id FROM sweep_runs WHERE sweep_id = ?) ORDER BY t.search_id, t.trial`,
    )
    .all(sweepId) as SweepTrial[];
}
