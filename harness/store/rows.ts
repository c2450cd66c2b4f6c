// Row types of the results database, exactly as the columns are named (snake_case), so SQL
// written against schema.ts and these types read the same. JSON columns stay strings here;
// parse them where they are used (config, axes, ranks, max_ranks, singular_values, args).

/** pruned: stopped early by a search's ASHA (issue 16); its curve is kept, and a grid that needs it to the end resumes it. */
export type StoredRunStatus = 'pending' | 'running' | 'done' | 'diverged' | 'failed' | 'skipped' | 'interrupted' | 'pruned';
export type SweepStatus = 'running' | 'done' | 'interrupted' | 'failed';

export interface SweepRow {
  id: number;
  spec: string;
  profile: string;
  args: string;
  created_at: string;
  finished_at: string | null;
  status: SweepStatus;
  /** Migration 3: the note given with --note, or null. */
  note: string | null;
}

export interface RunRow {
  id: string;
  name: string;
  config: string;
  profile: string;
  model: string;
  method: string;
  precision: string;
  stage: string;
  seed: number;
  axes: string;
  depends_on: string | null;
  status: StoredRunStatus;
  reason: string | null;
  error: string | null;
  executor: string | null;
  job_id: string | null;
  device: string | null;
  backend: string | null;
  matmul: string | null;
  /** JSON AdapterDescription of a webgpu run (migration 4). */
  adapter: string | null;
  fp16_path: string | null;
  /** JSON RunProvenance (migration 6); null before it was kept. */
  provenance?: string | null;
  attempts: number;
  run_dir: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  heartbeat_at: string | null;
  wall_ms: number | null;
  train_ms: number | null;
  steps: number | null;
  max_steps: number | null;
  skipped_steps: number | null;
  params_total_start: number | null;
  params_mlp_start: number | null;
  flops_per_token_start: number | null;
  params_total: number | null;
  params_mlp: number | null;
  flops_per_token: number | null;
  ranks: string | null;
  max_ranks: string | null;
  train_loss: number | null;
  valid_loss: number | null;
  valid_ppl: number | null;
  best_valid_loss: number | null;
  test_loss: number | null;
  test_ppl: number | null;
  /** Migration 2: the harness process that claimed the run (host name and pid), for orphan detection. */
  owner_host: string | null;
  owner_pid: number | null;
}

export interface MetricRow {
  run_id: string;
  step: number;
  split: 'train' | 'valid' | 'test';
  loss: number | null;
  ppl: number | null;
  lr: number | null;
  grad_norm: number | null;
  tokens_per_sec: number | null;
  train_ms: number | null;
  loss_scale: number | null;
  skipped: number | null;
  at: string;
}

export interface RankEventRow {
  run_id: string;
  step: number;
  counter: number;
  layer: string;
  current_modes: number;
  max_rank: number;
  explained_ratio: number;
  singular_values: string;
}

export interface ArtifactRow {
  run_id: string;
  kind: string;
  path: string;
  step: number | null;
  at: string;
}

export interface RunFilter {
  sweepId?: number;
  status?: StoredRunStatus | StoredRunStatus[];
  /** Matches runs whose name or id starts with this. */
  prefix?: string;
}

/** A JSON column's value, or null when it is empty or not JSON (a row written by hand or cut short). */
export function jsonColumn<T>(text: string | null | undefined): T | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
