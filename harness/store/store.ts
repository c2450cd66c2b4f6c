// The results database: the harness process is its only writer (children never touch it).
// WAL + a busy timeout let two sweeps write one file at once; every multi-statement write is
// an IMMEDIATE transaction so two writers queue on the lock instead of failing on upgrade.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { RunPlan } from '../spec/plan.ts';
import type { DoneEvent, RunStatus, StartEvent, StepEvent, TrainEvent } from '../contract/protocol.ts';
import { UserError } from '../contract/errors.ts';
import { MIGRATIONS } from './schema.ts';
import { addRunNotice } from './run-notices.ts';
import { checkDbPath, classifyDb, refuseKind, withDbFile } from './db-file.ts';
import { openReadOnlyDb } from './db-open.ts';
import { recordProvenance } from './provenance.ts';
import type { CodeFacts } from '../contract/provenance.ts';
import { recordedThrough, truncateForStart } from './event-accounting.ts';
import type {
  ArtifactRow,
  MetricRow,
  RankEventRow,
  RunFilter,
  RunRow,
  StoredRunStatus,
  SweepRow,
  SweepStatus,
} from './rows.ts';

export interface StoreOptions {
  /** Milliseconds a writer waits for another's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /** Apply migrations up to this count only (tests of upgrading an older database). */
  migrateTo?: number;
}

export interface RunOutcome {
  status: RunStatus | 'failed' | 'skipped' | 'pruned';
  reason?: string;
  error?: string;
  /** The child's done event: its final metrics are written in the same transaction as the status. */
  done?: DoneEvent;
}

export interface StartInfo {
  executor: string;
  jobId: string | null;
  device: string;
}

/** The host + pid a harness process writes into the rows it claims. */
export interface Owner {
  host: string;
  pid: number;
}

const now = (): string => new Date().toISOString();
const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/** Applies the migrations not yet in the database; the schema version is PRAGMA user_version. */
export function migrate(db: Database.Database, upTo: number = MIGRATIONS.length): void {
  const read = (): number => db.pragma('user_version', { simple: true }) as number;
  if (read() > MIGRATIONS.length) {
    throw new UserError(
      `results database schema version ${read()} is newer than this harness knows (${MIGRATIONS.length}); update the harness or use another --db`,
    );
  }
  // IMMEDIATE: two processes opening a fresh file at once must not both create the tables.
  db.transaction(() => {
    for (let v = read(); v < upTo; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

export function openStore(path: string, options: StoreOptions = {}): Store {
  if (path !== ':memory:') {
    // A --db that is not ours (or whose folder is a file) is refused before anything is written.
    checkDbPath(path);
    makeDbFolder(path);
  }
  return withDbFile(path, () => {
    const db = new Database(path);
    try {
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 15000}`);
      // Before WAL and migrations: a foreign or newer file keeps its journal mode and user_version.
      refuseKind(path, db.transaction(() => classifyDb(db))());
      db.pragma('journal_mode = WAL');
      // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commits).
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db, options.migrateTo);
    } catch (err) {
      db.close();
      throw err;
    }
    return new Store(db);
  });
}

function makeDbFolder(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UserError(`--db ${path}: cannot create its folder ${dirname(path)} (${code}); choose a --db in a folder you can write`);
  }
}

/**
 * An existing results database opened read-only for the reading commands (runs, show): no
 * migration, no journal-mode change, no write. An older schema is read as it is.
 */
export function openReadStore(path: string, missing: string, options: Pick<StoreOptions, 'busyTimeoutMs'> = {}): Store {
  const { db } = openReadOnlyDb(path, missing);
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 15000}`);
  return new Store(db);
}

export class Store {
  readonly db: Database.Database;
  readonly owner: Owner = { host: hostname(), pid: process.pid };
  /** The code this harness runs (git), written into each run's provenance at its start; null: not known. */
  codeFacts: CodeFacts | null = null;
  private statements: ReturnType<typeof prepareStatements> | null = null;
  private provenanceColumn: boolean | null = null;

  constructor(db: Database.Database) {
    this.db = db;
  }

  /** Prepared on first write, so a read-only store of an older schema never prepares them. */
  private get stmt(): ReturnType<typeof prepareStatements> {
    return (this.statements ??= prepareStatements(this.db));
  }

  beginSweep(spec: string, profile: string, args: unknown): number {
    const info = this.db
      .prepare(
        `INSERT INTO sweeps (spec, profile, args, created_at, status, owner_host, owner_pid) VALUES (?, ?, ?, ?, 'running', ?, ?)`,
      )
      .run(spec, profile, JSON.stringify(args ?? null), now(), this.owner.host, this.owner.pid);
    return Number(info.lastInsertRowid);
  }

  finishSweep(sweepId: number, status: Exclude<SweepStatus, 'running'>): void {
    this.db.prepare(`UPDATE sweeps SET status = ?, finished_at = ? WHERE id = ?`).run(status, now(), sweepId);
  }

  /** Inserts the runs not stored yet (status pending) and every plan's membership, in one transaction. */
  addPlans(sweepId: number, plans: RunPlan[]): void {
    const at = now();
    this.db
      .transaction(() => {
        // A stage 2 may come before its stage 1 in the list: check references at commit.
        this.db.pragma('defer_foreign_keys = ON');
        plans.forEach((p, position) => {
          const c = p.config;
          this.stmt.insertRun.run(
            p.id, p.name, JSON.stringify(c), p.profile, c.model.name, c.method, c.precision.kind, c.stage.kind,
            p.seed, JSON.stringify(p.axes), p.dependsOn, c.outDir, at,
          );
          this.stmt.insertMember.run(sweepId, p.id, position);
        });
      })
      .immediate();
  }

  /**
   * Takes a run for this process: succeeds only when no one holds it (not running) and it has
   * no final result. Two harnesses sharing a run thus train it once.
   */
  claimRun(runId: string): boolean {
    const r = this.db
      .prepare(
        `UPDATE runs SET status = 'running', owner_host = ?, owner_pid = ?, heartbeat_at = ?, reason = NULL
         WHERE id = ? AND status NOT IN ('running', 'done', 'diverged')`,
      )
      .run(this.owner.host, this.owner.pid, now(), runId);
    return r.changes === 1;
  }

  markStarted(runId: string, info: StartInfo): void {
    const at = now();
    this.db
      .prepare(
        `UPDATE runs SET status = 'running', executor = ?, job_id = ?, device = ?, attempts = attempts + 1,
           started_at = COALESCE(started_at, ?), heartbeat_at = ?, error = NULL, reason = NULL,
           owner_host = COALESCE(owner_host, ?), owner_pid = COALESCE(owner_pid, ?)
         WHERE id = ?`,
      )
      .run(info.executor, info.jobId, info.device, at, at, this.owner.host, this.owner.pid, runId);
  }

  /** The executor's handle can arrive after the launch (a pid, a Slurm job id). */
  setJobId(runId: string, jobId: string): void {
    this.db.prepare(`UPDATE runs SET job_id = ? WHERE id = ?`).run(jobId, runId);
  }

  heartbeat(runIds: string[]): void {
    if (runIds.length === 0) return;
    const at = now();
    this.db.transaction(() => runIds.forEach((id) => this.stmt.heartbeat.run(at, id))).immediate();
  }

  recordEvent(runId: string, event: TrainEvent): void {
    const at = now();
    const s = this.stmt;
    switch (event.type) {
      case 'start':
        this.recordStart(runId, event, at);
        return;
      case 'step':
        this.recordStep(runId, event, at);
        return;
      case 'eval':
        this.db.transaction(() => {
          s.dropMetric.run(runId, event.step, event.split);
          s.metric.run(runId, event.step, event.split, event.loss, event.ppl, null, null, null, null, null, null, at);
        }).immediate();
        return;
      case 'rank':
        this.db.transaction(() => {
          s.dropRank.run(runId, event.layer, event.step, event.counter);
          s.rank.run(
            runId, event.step, event.counter, event.layer, event.currentModes, event.maxRank, event.explainedRatio,
            JSON.stringify(event.singularValues),
          );
        }).immediate();
        return;
      case 'prune':
        s.prune.run(event.params.total, event.params.mlp, event.flopsPerToken, JSON.stringify(event.ranks), runId);
        return;
      case 'checkpoint':
        s.artifact.run(runId, event.kind, event.path, event.step, at);
        return;
      case 'done':
        this.writeDone(runId, event);
        return;
      case 'notice':
        addRunNotice(this, runId, event.message, at);
        return;
      case 'error':
        s.error.run(event.stack ? `${event.message}\n${event.stack}` : event.message, runId);
        return;
    }
  }

  private recordStart(runId: string, event: StartEvent, at: string): void {
    const s = this.stmt;
    this.db
      .transaction(() => {
        // A resumed run repeats the steps after its checkpoint, a fresh start all of them: drop their old rows.
        truncateForStart(this.db, runId, event.resumedFromStep);
        s.start.run(
          event.backend, event.matmul, event.params.total, event.params.mlp, event.flopsPerToken, event.maxSteps,
          json(event.maxRanks), json(event.ranks), at, runId,
        );
        // Migration 4's columns, prepared here so a store opened at an older version still starts.
        this.db.prepare(`UPDATE runs SET adapter = ?, fp16_path = ? WHERE id = ?`)
          .run(event.adapter ? JSON.stringify(event.adapter) : null, event.fp16Path ?? null, runId);
        if (this.hasProvenanceColumn()) recordProvenance(this.db, runId, this.codeFacts, event, at);
      })
      .immediate();
  }

  /** Migration 6 applied (a store opened with migrateTo below it has no provenance column). */
  private hasProvenanceColumn(): boolean {
    this.provenanceColumn ??= this.db.prepare(`SELECT 1 FROM pragma_table_info('runs') WHERE name = 'provenance'`).get() !== undefined;
    return this.provenanceColumn;
  }

  private recordStep(runId: string, event: StepEvent, at: string): void {
    this.db
      .transaction(() => {
        this.stmt.dropMetric.run(runId, event.step, 'train');
        this.stmt.metric.run(
          runId, event.step, 'train', event.loss, null, event.lr, event.gradNorm, event.tokensPerSec, event.trainMs,
          event.lossScale ?? null, event.skipped === undefined ? null : event.skipped ? 1 : 0, at,
        );
        this.stmt.progress.run(event.step, event.trainMs, at, runId);
      })
      .immediate();
  }

  /** A run's final state (status, reason, error, final metrics) in one transaction. */
  finishRun(runId: string, outcome: RunOutcome): void {
    this.db
      .transaction(() => {
        if (outcome.done) this.writeDone(runId, outcome.done);
        this.db
          .prepare(
            `UPDATE runs SET status = ?, reason = ?, error = COALESCE(?, error), finished_at = ? WHERE id = ?`,
          )
          .run(outcome.status, outcome.reason ?? null, outcome.error ?? null, now(), runId);
      })
      .immediate();
  }

  private writeDone(runId: string, e: DoneEvent): void {
    const m = e.metrics;
    this.stmt.done.run(
      e.steps, e.wallMs, e.trainMs, e.skippedSteps, e.params.total, e.params.mlp, e.flopsPerToken, json(e.ranks),
      m.trainLoss, m.validLoss, m.validPpl, m.bestValidLoss, m.testLoss, m.testPpl, runId,
    );
    if (e.checkpoint) this.stmt.artifact.run(runId, 'handover', e.checkpoint, e.steps, now());
  }

  getRun(id: string): RunRow | undefined {
    return this.db.prepare(`SELECT * FROM runs WHERE id = ?`).get(id) as RunRow | undefined;
  }

  listRuns(filter: RunFilter = {}): RunRow[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.sweepId !== undefined) {
      where.push(`id IN (SELECT run_id FROM sweep_runs WHERE sweep_id = ?)`);
      params.push(filter.sweepId);
    }
    if (filter.status !== undefined) {
      const list = Array.isArray(filter.status) ? filter.status : [filter.status];
      where.push(`status IN (${list.map(() => '?').join(', ')})`);
      params.push(...list);
    }
    if (filter.prefix !== undefined) {
      where.push(`(substr(id, 1, length(?)) = ? OR substr(name, 1, length(?)) = ?)`);
      params.push(filter.prefix, filter.prefix, filter.prefix, filter.prefix);
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, name`;
    return this.db.prepare(sql).all(...params) as RunRow[];
  }

  sweepRuns(sweepId: number): RunRow[] {
    return this.db
      .prepare(`SELECT r.* FROM sweep_runs m JOIN runs r ON r.id = m.run_id WHERE m.sweep_id = ? ORDER BY m.position`)
      .all(sweepId) as RunRow[];
  }

  /** A run by exact id, exact name (newest), a unique prefix of either, or a unique part of a name; none or several: UserError. */
  findRun(ref: string): RunRow {
    const exact = this.getRun(ref) ?? (this.db.prepare(`SELECT * FROM runs WHERE name = ? ORDER BY created_at DESC`).get(ref) as RunRow | undefined);
    if (exact) return exact;
    let matches = this.listRuns({ prefix: ref });
    // No prefix match: a unique part of a name will do (e.g. 'stage2', 'er0.8').
    if (matches.length === 0) matches = this.db.prepare(`SELECT * FROM runs WHERE instr(name, ?) > 0 ORDER BY created_at, name`).all(ref) as RunRow[];
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) throw new UserError(`no stored run matches '${ref}'; list them with: npm run runs`);
    const shown = matches.slice(0, 5).map((r) => `${r.id.slice(0, 10)} ${r.name}`).join(', ');
    throw new UserError(`'${ref}' matches ${matches.length} runs (${shown}${matches.length > 5 ? ', ...' : ''}); give more of the id or name`);
  }

  getSweep(id: number): SweepRow | undefined {
    return this.db.prepare(`SELECT * FROM sweeps WHERE id = ?`).get(id) as SweepRow | undefined;
  }

  latestSweep(): SweepRow | undefined {
    return this.db.prepare(`SELECT * FROM sweeps ORDER BY id DESC LIMIT 1`).get() as SweepRow | undefined;
  }

  listSweeps(): SweepRow[] {
    return this.db.prepare(`SELECT * FROM sweeps ORDER BY id`).all() as SweepRow[];
  }

  metrics(runId: string, split?: MetricRow['split']): MetricRow[] {
    return (
      split
        ? this.db.prepare(`SELECT * FROM metrics WHERE run_id = ? AND split = ? ORDER BY step, rowid`).all(runId, split)
        : this.db.prepare(`SELECT * FROM metrics WHERE run_id = ? ORDER BY split, step, rowid`).all(runId)
    ) as MetricRow[];
  }

  rankEvents(runId: string): RankEventRow[] {
    return this.db.prepare(`SELECT * FROM rank_events WHERE run_id = ? ORDER BY layer, step, counter`).all(runId) as RankEventRow[];
  }

  artifacts(runId: string): ArtifactRow[] {
    return this.db.prepare(`SELECT * FROM artifacts WHERE run_id = ? ORDER BY at, kind`).all(runId) as ArtifactRow[];
  }

  /** The checkpoint a run handed to its next stage (its done event's checkpoint), if any. */
  handoverCheckpoint(runId: string): string | null {
    const row = this.db
      .prepare(`SELECT path FROM artifacts WHERE run_id = ? AND kind IN ('handover', 'pruned') ORDER BY kind = 'handover' DESC, step DESC LIMIT 1`)
      .get(runId) as { path: string } | undefined;
    return row?.path ?? null;
  }

  /** The last step whose events this store holds in full for the run (event-accounting.ts). */
  recordedThrough(runId: string): number {
    return recordedThrough(this.db, runId);
  }

  /** Rows claimed as running, with their owners: the caller decides which owners are gone. */
  runningRuns(): RunRow[] {
    return this.db.prepare(`SELECT * FROM runs WHERE status = 'running'`).all() as RunRow[];
  }

  /** Sweeps still marked running whose owner is gone become interrupted. */
  closeDeadSweeps(isOwnerAlive: (host: string | null, pid: number | null, heartbeatAt: string | null) => boolean): number {
    const rows = this.db
      .prepare(`SELECT id, owner_host, owner_pid, created_at FROM sweeps WHERE status = 'running'`)
      .all() as { id: number; owner_host: string | null; owner_pid: number | null; created_at: string }[];
    let closed = 0;
    for (const r of rows) {
      if (r.owner_pid === this.owner.pid && r.owner_host === this.owner.host) continue;
      if (!isOwnerAlive(r.owner_host, r.owner_pid, r.created_at)) {
        this.finishSweep(r.id, 'interrupted');
        closed++;
      }
    }
    return closed;
  }

  statusCounts(sweepId?: number): Record<StoredRunStatus, number> {
    const rows = (
      sweepId === undefined
        ? this.db.prepare(`SELECT status, COUNT(*) n FROM runs GROUP BY status`).all()
        : this.db
            .prepare(`SELECT r.status, COUNT(*) n FROM sweep_runs m JOIN runs r ON r.id = m.run_id WHERE m.sweep_id = ? GROUP BY r.status`)
            .all(sweepId)
    ) as { status: StoredRunStatus; n: number }[];
    const counts: Record<StoredRunStatus, number> = { pending: 0, running: 0, done: 0, diverged: 0, failed: 0, skipped: 0, interrupted: 0, pruned: 0 };
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  /** Counts by status of the given rows. */
  statusCountsOf(runs: RunRow[]): Record<StoredRunStatus, number> {
    const counts: Record<StoredRunStatus, number> = { pending: 0, running: 0, done: 0, diverged: 0, failed: 0, skipped: 0, interrupted: 0, pruned: 0 };
    for (const r of runs) counts[r.status]++;
    return counts;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function prepareStatements(db: Database.Database) {
  return {
    insertRun: db.prepare(
      `INSERT OR IGNORE INTO runs (id, name, config, profile, model, method, precision, stage, seed, axes, depends_on, status, run_dir, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
    ),
    insertMember: db.prepare(`INSERT OR IGNORE INTO sweep_runs (sweep_id, run_id, position) VALUES (?, ?, ?)`),
    heartbeat: db.prepare(`UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'`),
    start: db.prepare(
      `UPDATE runs SET backend = ?, matmul = ?, params_total_start = ?, params_mlp_start = ?, flops_per_token_start = ?,
         max_steps = ?, max_ranks = ?, ranks = COALESCE(?, ranks), heartbeat_at = ? WHERE id = ?`,
    ),
    metric: db.prepare(
      `INSERT INTO metrics (run_id, step, split, loss, ppl, lr, grad_norm, tokens_per_sec, train_ms, loss_scale, skipped, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    progress: db.prepare(`UPDATE runs SET steps = ?, train_ms = ?, heartbeat_at = ? WHERE id = ?`),
    // A repeated event replaces its row (event-accounting.ts): the same key is deleted before each insert.
    dropMetric: db.prepare(`DELETE FROM metrics WHERE run_id = ? AND step = ? AND split = ?`),
    dropRank: db.prepare(`DELETE FROM rank_events WHERE run_id = ? AND layer = ? AND step = ? AND counter = ?`),
    rank: db.prepare(
      `INSERT INTO rank_events (run_id, step, counter, layer, current_modes, max_rank, explained_ratio, singular_values)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    prune: db.prepare(`UPDATE runs SET params_total = ?, params_mlp = ?, flops_per_token = ?, ranks = ? WHERE id = ?`),
    artifact: db.prepare(`INSERT OR REPLACE INTO artifacts (run_id, kind, path, step, at) VALUES (?, ?, ?, ?, ?)`),
    error: db.prepare(`UPDATE runs SET error = ? WHERE id = ?`),
    done: db.prepare(
      `UPDATE runs SET steps = ?, wall_ms = ?, train_ms = ?, skipped_steps = ?, params_total = ?, params_mlp = ?,
         flops_per_token = ?, ranks = COALESCE(?, ranks), train_loss = ?, valid_loss = ?, valid_ppl = ?,
         best_valid_loss = ?, test_loss = ?, test_ppl = ? WHERE id = ?`,
    ),
  };
}
