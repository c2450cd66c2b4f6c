// The results database's schema, as an ordered list of migrations. The database's
// PRAGMA user_version is the number of migrations applied; never edit a released
// migration, append a new one.

export const MIGRATIONS: readonly string[] = [
  // 1: sweeps, runs, membership, metrics, rank history, artifacts
  `
  CREATE TABLE sweeps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    spec        TEXT NOT NULL,              -- experiments/<spec>.ts name
    profile     TEXT NOT NULL,
    args        TEXT NOT NULL,              -- JSON: overrides, filters, options as given
    created_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL               -- running | done | interrupted | failed
  );

  CREATE TABLE runs (
    id            TEXT PRIMARY KEY,         -- hash of the normalized resolved config
    name          TEXT NOT NULL,            -- readable: model-method-precision-...-s<seed>
    config        TEXT NOT NULL,            -- JSON RunConfig as the child gets it (outDir, stage.from filled)
    profile       TEXT NOT NULL,
    model         TEXT NOT NULL,            -- model.name
    method        TEXT NOT NULL,            -- full | fixed | inrank
    precision     TEXT NOT NULL,            -- fp32 | fp16
    stage         TEXT NOT NULL,            -- single | stage1 | stage2
    seed          INTEGER NOT NULL,
    axes          TEXT NOT NULL,            -- JSON: the spec's axis values that made this run (dot path -> value)
    depends_on    TEXT REFERENCES runs(id), -- stage 2: its stage-1 run
    status        TEXT NOT NULL,            -- pending | running | done | diverged | failed | skipped | interrupted
    reason        TEXT,                     -- why skipped / diverged / failed, one line
    error         TEXT,                     -- the child's error, stack included
    executor      TEXT,                     -- local | slurm
    job_id        TEXT,                     -- executor's handle (pid or Slurm job id)
    device        TEXT,
    backend       TEXT,
    matmul        TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    run_dir       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    heartbeat_at  TEXT,
    wall_ms       REAL,                     -- whole run incl. evaluation, across resumes
    train_ms      REAL,                     -- training steps alone
    steps         INTEGER,
    max_steps     INTEGER,
    skipped_steps INTEGER,
    params_total_start INTEGER,
    params_mlp_start   INTEGER,
    flops_per_token_start REAL,
    params_total  INTEGER,                  -- at the end (after pruning for stage 1)
    params_mlp    INTEGER,
    flops_per_token REAL,
    ranks         TEXT,                     -- JSON layer -> rank at the end
    max_ranks     TEXT,                     -- JSON layer -> max rank
    train_loss    REAL,
    valid_loss    REAL,
    valid_ppl     REAL,
    best_valid_loss REAL,
    test_loss     REAL,
    test_ppl      REAL
  );
  CREATE INDEX runs_status ON runs(status);

  CREATE TABLE sweep_runs (
    sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
    run_id   TEXT NOT NULL REFERENCES runs(id),
    position INTEGER NOT NULL,              -- order in the expanded spec
    PRIMARY KEY (sweep_id, run_id)
  );

  CREATE TABLE metrics (
    run_id   TEXT NOT NULL REFERENCES runs(id),
    step     INTEGER NOT NULL,
    split    TEXT NOT NULL,                 -- train | valid | test
    loss     REAL,
    ppl      REAL,
    lr       REAL,
    grad_norm REAL,
    tokens_per_sec REAL,
    train_ms REAL,                          -- training wall-clock at this step
    loss_scale REAL,
    skipped  INTEGER,
    at       TEXT NOT NULL
  );
  CREATE INDEX metrics_run ON metrics(run_id, split, step);

  CREATE TABLE rank_events (
    run_id   TEXT NOT NULL REFERENCES runs(id),
    step     INTEGER NOT NULL,
    counter  INTEGER NOT NULL,
    layer    TEXT NOT NULL,
    current_modes INTEGER NOT NULL,
    max_rank INTEGER NOT NULL,
    explained_ratio REAL NOT NULL,
    singular_values TEXT NOT NULL           -- JSON number[] (top 20)
  );
  CREATE INDEX rank_events_run ON rank_events(run_id, layer, step);

  CREATE TABLE artifacts (
    run_id TEXT NOT NULL REFERENCES runs(id),
    kind   TEXT NOT NULL,                   -- checkpoint kinds: periodic | interrupt | final | pruned; log
    path   TEXT NOT NULL,
    step   INTEGER,
    at     TEXT NOT NULL,
    PRIMARY KEY (run_id, kind, path)
  );
  `,
  // 2: which harness process claimed a run / a sweep (host + pid), so a rerun can tell an
  // orphan of a killed harness from a run another live harness is training right now.
  `
  ALTER TABLE runs ADD COLUMN owner_host TEXT;
  ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
  ALTER TABLE sweeps ADD COLUMN owner_host TEXT;
  ALTER TABLE sweeps ADD COLUMN owner_pid INTEGER;
  CREATE INDEX runs_name ON runs(name);
  CREATE INDEX sweep_runs_run ON sweep_runs(run_id);
  `,
  // 3 (sweep notes, issue 15): a free-text note given with `npm run sweep -- --note "..."`,
  // shown by runs, show and the report.
  `
  ALTER TABLE sweeps ADD COLUMN note TEXT;
  `,
  // 4 (issue 12, WebGPU backend): the adapter a run trained on and its fp16 path, from the start event.
  `
  ALTER TABLE runs ADD COLUMN adapter TEXT;             -- JSON AdapterDescription (webgpu), else NULL
  ALTER TABLE runs ADD COLUMN fp16_path TEXT;           -- 'emulated' | 'native' for fp16 runs
  `,
  // 5 (issue 16, search): a search's identity and settings, its trials (each one run, or stage 1
  // + stage 2), and its ASHA rungs with each decision and the reason for it. A trial's runs are
  // ordinary rows of runs; a run stopped by ASHA has status 'pruned'.
  `
  CREATE TABLE searches (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL UNIQUE,        -- hash of what makes the search (spec, profile, space, strategy, seed, metric, ...)
    spec       TEXT NOT NULL,
    profile    TEXT NOT NULL,
    strategy   TEXT NOT NULL,               -- random | tpe
    seed       INTEGER NOT NULL,
    settings   TEXT NOT NULL,               -- JSON: the resolved search settings
    created_at TEXT NOT NULL
  );

  CREATE TABLE search_trials (
    search_id   INTEGER NOT NULL REFERENCES searches(id),
    trial       INTEGER NOT NULL,           -- 0, 1, ... in proposal order
    params      TEXT NOT NULL,              -- JSON: setting -> value
    run_id      TEXT NOT NULL REFERENCES runs(id),   -- the trial's last run (stage 2, or its one run)
    run_ids     TEXT NOT NULL,              -- JSON: all its runs, in order
    basis       INTEGER NOT NULL,           -- it was proposed from trials 0 .. basis-1 (all finished)
    reason      TEXT NOT NULL,              -- how the strategy chose it
    status      TEXT NOT NULL,              -- pending | done | pruned | diverged | failed
    value       REAL,                       -- the metric (null: pruned, failed, over the parameter budget)
    tokens      REAL,                       -- training tokens its runs saw (a stage 2 counts its stage 1's)
    note        TEXT,                       -- why it has no value, one line
    proposed_at TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (search_id, trial)
  );

  CREATE TABLE search_rungs (
    search_id INTEGER NOT NULL REFERENCES searches(id),
    trial     INTEGER NOT NULL,
    rung      INTEGER NOT NULL,             -- 0, 1, ...
    tokens    REAL NOT NULL,                -- the rung's boundary
    run_id    TEXT NOT NULL,                -- the run whose validation decided it
    step      INTEGER NOT NULL,
    value     REAL NOT NULL,                -- validation perplexity there
    decision  TEXT NOT NULL,                -- continue | prune
    reason    TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (search_id, trial, rung)
  );
  `,
  // 6 (issue 19, checkpoint integrity): the one-line notices a run's trainer gave that are not
  // errors: a damaged checkpoint set aside and where the run restarted from. npm run show lists them.
  `
  CREATE TABLE run_notices (
    run_id  TEXT NOT NULL REFERENCES runs(id),
    at      TEXT NOT NULL,
    message TEXT NOT NULL
  );
  CREATE INDEX run_notices_run ON run_notices(run_id);
  `,
  // 7 (issue 18, provenance): what produced a run: git commit and uncommitted-diff hash, package
  // versions, backend, Node, OS, CPU and the data fingerprint, written at each start.
  `
  ALTER TABLE runs ADD COLUMN provenance TEXT;          -- JSON RunProvenance (harness/contract/provenance.ts)
  `,
];
