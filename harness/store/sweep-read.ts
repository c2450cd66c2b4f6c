// The store's typed read side: one sweep's runs (config parsed, defaults filled once, JSON
// columns decoded), metrics and rank history. The report writes no SQL of its own; it reads
// through here. The database is opened read-only, so a report can run while a sweep is still
// writing (WAL readers do not block the writer).
import type Database from 'better-sqlite3';
import { UserError } from '../contract/errors.ts';
import { openReadOnlyDb } from './db-open.ts';
import type { RunConfig } from '../contract/config.ts';
import type { RankEvent } from '../contract/protocol.ts';
import { readStoredConfig } from '../contract/stored-config.ts';
import type { MetricRow, RankEventRow, RunRow, SweepRow } from './rows.ts';
import { trialsOfSweep, type SweepTrial } from './search-store.ts';

export type AxisValue = string | number | boolean;

/** One stored run with its JSON columns parsed. */
export interface ReportRun {
  row: RunRow;
  axes: Record<string, AxisValue>;
  /** The run's config with today's defaults under its stored settings (readStoredConfig). */
  config: RunConfig;
  ranks: Record<string, number> | null;
  maxRanks: Record<string, number> | null;
  /** Position in the expanded spec (the sweep's order). */
  position: number;
}

export interface ValidPoint {
  step: number;
  ppl: number;
}

export interface TrainPoint {
  step: number;
  trainMs: number;
  loss: number | null;
}

/** One layer's rank determination, as the trainer reported it. */
export type RankPoint = Omit<RankEvent, 'type'>;

export interface SweepData {
  /** The first sweep asked for (the latest when none was named). */
  sweep: SweepRow;
  /** Every sweep in this report, in the order asked for (one unless --sweep was repeated). */
  sweeps: SweepRow[];
  runs: ReportRun[];
  /** Per run id: validation perplexity over steps, ascending. */
  valid: Map<string, ValidPoint[]>;
  /** Per run id: training wall-clock at each recorded training step, ascending. */
  train: Map<string, TrainPoint[]>;
  /** Per run id: every rank determination, ascending by step then layer. */
  rankEvents: Map<string, RankPoint[]>;
  /** A search's trials whose runs are in the sweep (issue 16), in proposal order; empty for a grid. */
  trials: SweepTrial[];
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null || text === '') return fallback;
  return JSON.parse(text) as T;
}

function groupBy<T extends { run_id: string }, U>(rows: T[], map: (row: T) => U): Map<string, U[]> {
  const out = new Map<string, U[]>();
  for (const row of rows) {
    const list = out.get(row.run_id);
    if (list) list.push(map(row));
    else out.set(row.run_id, [map(row)]);
  }
  return out;
}

/**
 * Opens the database read-only; a missing, non-SQLite, foreign or newer file is the user's
 * mistake (one line, exit 2) and is left untouched. An older schema is read as it is.
 */
export function openReadOnly(dbPath: string): Database.Database {
  return openReadOnlyDb(dbPath, `no results database at ${dbPath}: run a sweep first (npm run sweep <spec>) or pass --db FILE`).db;
}

/** A sweep named by id, or by spec name (its latest sweep). */
export type SweepRef = number | string;

/** The sweep to report: the given id or spec name (its latest sweep), or the latest one. */
export function findSweep(db: Database.Database, dbPath: string, sweepId: SweepRef | null): SweepRow {
  if (typeof sweepId === 'string') {
    const bySpec = db.prepare('SELECT * FROM sweeps WHERE spec = ? ORDER BY id DESC LIMIT 1').get(sweepId) as SweepRow | undefined;
    if (bySpec) return bySpec;
    const specs = (db.prepare('SELECT DISTINCT spec FROM sweeps ORDER BY spec').all() as { spec: string }[]).map((r) => r.spec);
    throw new UserError(`no sweep of spec '${sweepId}' in ${dbPath} (${specs.length ? `specs there: ${specs.join(', ')}` : 'it has no sweeps'}); see npm run runs`);
  }
  if (sweepId !== null) {
    const sweep = db.prepare('SELECT * FROM sweeps WHERE id = ?').get(sweepId) as SweepRow | undefined;
    if (!sweep) {
      const ids = (db.prepare('SELECT id FROM sweeps ORDER BY id').all() as { id: number }[]).map((r) => r.id);
      const known = ids.length ? `known ids: ${ids.length > 10 ? `${ids.slice(0, 5).join(', ')} ... ${ids.slice(-3).join(', ')}` : ids.join(', ')}` : 'it has no sweeps';
      throw new UserError(`sweep ${sweepId} not found in ${dbPath} (${known}); see npm run runs`);
    }
    return sweep;
  }
  const latest = db.prepare('SELECT * FROM sweeps ORDER BY id DESC LIMIT 1').get() as SweepRow | undefined;
  if (!latest) throw new UserError(`${dbPath} has no sweeps yet: run one with npm run sweep <spec>`);
  return latest;
}

/** Everything the tables and plots need for one sweep, in the sweep's order. */
export function readSweep(db: Database.Database, sweep: SweepRow): SweepData {
  const rows = db
    .prepare(
      `SELECT runs.*, sweep_runs.position AS position FROM runs
       JOIN sweep_runs ON sweep_runs.run_id = runs.id
       WHERE sweep_runs.sweep_id = ? ORDER BY sweep_runs.position`,
    )
    .all(sweep.id) as (RunRow & { position: number })[];
  const runs: ReportRun[] = rows.map((row) => ({
    row,
    axes: parseJson<Record<string, AxisValue>>(row.axes, {}),
    config: readStoredConfig(row.config),
    ranks: parseJson<Record<string, number> | null>(row.ranks, null),
    maxRanks: parseJson<Record<string, number> | null>(row.max_ranks, null),
    position: row.position,
  }));

  const inSweep = `run_id IN (SELECT run_id FROM sweep_runs WHERE sweep_id = ?)`;
  const valid = db
    .prepare(`SELECT run_id, step, ppl FROM metrics WHERE ${inSweep} AND split = 'valid' AND ppl IS NOT NULL ORDER BY run_id, step`)
    .all(sweep.id) as Pick<MetricRow, 'run_id' | 'step' | 'ppl'>[];
  const train = db
    .prepare(`SELECT run_id, step, train_ms, loss FROM metrics WHERE ${inSweep} AND split = 'train' AND train_ms IS NOT NULL ORDER BY run_id, step`)
    .all(sweep.id) as Pick<MetricRow, 'run_id' | 'step' | 'train_ms' | 'loss'>[];
  const ranks = db
    .prepare(`SELECT * FROM rank_events WHERE ${inSweep} ORDER BY run_id, step, counter, layer`)
    .all(sweep.id) as RankEventRow[];

  return {
    sweep,
    sweeps: [sweep],
    runs,
    valid: groupBy(valid, (r) => ({ step: r.step, ppl: r.ppl as number })),
    train: groupBy(train, (r) => ({ step: r.step, trainMs: r.train_ms as number, loss: r.loss })),
    rankEvents: groupBy(ranks, (r) => ({
      step: r.step,
      counter: r.counter,
      layer: r.layer,
      currentModes: r.current_modes,
      maxRank: r.max_rank,
      explainedRatio: r.explained_ratio,
      singularValues: parseJson<number[]>(r.singular_values, []),
    })),
    trials: trialsOfSweep(db, sweep.id),
  };
}

/** Opens dbPath read-only and reads the given (or latest) sweep. */
export function loadSweep(dbPath: string, sweepId: SweepRef | null): SweepData {
  return loadSweeps(dbPath, sweepId === null ? [] : [sweepId]);
}

/** Several sweeps read as one report (the latest sweep when refs is empty); a run in two of them counts once. */
export function loadSweeps(dbPath: string, refs: SweepRef[]): SweepData {
  const db = openReadOnly(dbPath);
  try {
    const sweeps = refs.length ? refs.map((r) => findSweep(db, dbPath, r)) : [findSweep(db, dbPath, null)];
    const unique = [...new Map(sweeps.map((s) => [s.id, s])).values()];
    return mergeSweeps(unique.map((s) => readSweep(db, s)));
  } finally {
    db.close();
  }
}

/** One SweepData from several: runs in the order of the first sweep that holds them. */
export function mergeSweeps(parts: SweepData[]): SweepData {
  const first = parts[0]!;
  if (parts.length === 1) return first;
  const seen = new Set<string>();
  const runs: ReportRun[] = [];
  parts.forEach((part, i) => {
    for (const run of part.runs) {
      if (seen.has(run.row.id)) continue;
      seen.add(run.row.id);
      runs.push({ ...run, position: i * 1_000_000 + run.position });
    }
  });
  const merged = <T>(pick: (d: SweepData) => Map<string, T[]>): Map<string, T[]> =>
    new Map(parts.flatMap((p) => [...pick(p).entries()]));
  return {
    sweep: first.sweep,
    sweeps: parts.map((p) => p.sweep),
    runs,
    valid: merged((d) => d.valid),
    train: merged((d) => d.train),
    rankEvents: merged((d) => d.rankEvents),
    // A trial in two of the sweeps (a search resumed) counts once.
    trials: [...new Map(parts.flatMap((p) => p.trials).map((t) => [`${t.search_id}:${t.trial}`, t])).values()],
  };
}
