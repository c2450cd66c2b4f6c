// A run's provenance in the store (issue 18): written at each start event from the harness's
// code facts, the trainer's runtime facts and the stored config's data fingerprint; an earlier
// start whose facts differ (a run resumed after a commit, on another machine) is kept beside it.
// Runs stored before migration 6, or by an older trainer, read as "not recorded".
import type Database from 'better-sqlite3';
import type { AdapterDescription, StartEvent } from '../contract/protocol.ts';
import type { CodeFacts, ProvenanceEntry, RunProvenance } from '../contract/provenance.ts';
import { jsonColumn, type RunRow } from './rows.ts';

/** Earlier starts kept per run (a run resumed again and again under changing code keeps the latest). */
const MAX_EARLIER = 20;

/** What one entry says, without when it was taken: two starts under the same facts are one. */
const facts = (e: ProvenanceEntry): string => JSON.stringify([e.code, e.runtime, e.data]);

/** The data fingerprint of a stored run config (data.fingerprint), or null. */
function dataFingerprint(config: string | undefined): unknown {
  return jsonColumn<{ data?: { fingerprint?: unknown } }>(config)?.data?.fingerprint ?? null;
}

/** Stores the provenance of the start that event reports (inside the caller's transaction). */
export function recordProvenance(db: Database.Database, runId: string, code: CodeFacts | null, event: StartEvent, at: string): void {
  const row = db.prepare(`SELECT config, provenance FROM runs WHERE id = ?`).get(runId) as { config: string; provenance: string | null } | undefined;
  if (!row) return;
  const entry: ProvenanceEntry = {
    // The facts the trainer was launched with win: a detached job may be stored by a later harness.
    at, fromStep: event.resumedFromStep ?? 0, code: event.code ?? code, runtime: event.runtime ?? null, data: dataFingerprint(row.config),
  };
  const before = jsonColumn<RunProvenance>(row.provenance);
  let stored: RunProvenance = entry;
  // A restart from scratch replaces what trained before it; a resume under other facts keeps them.
  if (before && entry.fromStep !== 0) {
    const { earlier: prior = [], ...last } = before;
    if (facts(last) === facts(entry)) return; // the stored entry already covers this start
    stored = { ...entry, earlier: [...prior, last].slice(-MAX_EARLIER) };
  }
  db.prepare(`UPDATE runs SET provenance = ? WHERE id = ?`).run(JSON.stringify(stored), runId);
}

/** A run's provenance as the reading side shows it: the stored facts plus the adapter column. */
export interface ProvenanceView extends RunProvenance {
  adapter: AdapterDescription | null;
}

/** Null for a run stored before provenance was kept (or never started). */
export function readProvenance(row: RunRow): ProvenanceView | null {
  const p = jsonColumn<RunProvenance>(row.provenance);
  if (!p) return null;
  return { ...p, adapter: jsonColumn<AdapterDescription>(row.adapter) };
}
