// One stored run as text: what it was, how it ended, its config, metrics over steps, rank
// history, checkpoints and error (npm run show).
import { join } from 'node:path';
import type { RunRow } from '../store/rows.ts';
import type { Store } from '../store/store.ts';
import { sweepsOfRun } from '../store/sweep-notes.ts';
import { runNotices } from '../store/run-notices.ts';
import { missingLaterSettings } from '../contract/stored-config.ts';
import { formatCount, formatDuration, formatNumber } from './common.ts';
import { backendLabel } from '../report/backends.ts';
import { provenanceLines } from './describe-provenance.ts';

export function describeRun(store: Store, r: RunRow, trainRows: number): string {
  const out = [...summary(store, r), ...provenanceLines(r), '', 'config', ...configLines(r)];
  out.push(...trainLines(store, r, trainRows), ...evalLines(store, r), ...rankLines(store, r));
  if (r.ranks) out.push('', `final ranks  ${r.ranks}`);
  const artifacts = store.artifacts(r.id);
  if (artifacts.length) {
    out.push('', 'checkpoints');
    for (const a of artifacts) out.push(`  ${a.kind.padEnd(9)} step ${a.step ?? '-'}  ${a.path}`);
  }
  const notices = runNotices(store, r.id);
  if (notices.length) out.push('', 'notices', ...notices.map((n) => `  ${n.at}  ${n.message}`));
  if (r.error) out.push('', 'error', r.error.replace(/^/gm, '  '));
  return `${out.join('\n')}\n`;
}

/** The config as stored and, for a config stored before some settings existed, what it ran with. */
function configLines(r: RunRow): string[] {
  const stored: unknown = JSON.parse(r.config);
  const out = [JSON.stringify(stored, null, 2).replace(/^/gm, '  ')];
  const predates = missingLaterSettings(stored);
  if (predates.length) {
    out.push(`  (stored before these settings existed; it ran with ${predates.map((s) => `${s.key}=${s.value}`).join(', ')})`);
  }
  return out;
}

/** What the run was, where it ran, how it ended. */
function summary(store: Store, r: RunRow): string[] {
  const out = [`run ${r.name}`];
  const kv = (k: string, v: string | number | null | undefined): void => {
    out.push(`  ${k.padEnd(16)} ${v ?? '-'}`);
  };
  kv('id', r.id);
  kv('status', r.reason ? `${r.status} (${r.reason})` : r.status);
  kv('model / method', `${r.model} / ${r.method} / ${r.precision} / ${r.stage}, seed ${r.seed}, profile ${r.profile}`);
  if (r.depends_on) kv('depends on', `${store.getRun(r.depends_on)?.name ?? '?'} (${r.depends_on})`);
  kv('axes', r.axes);
  // The sweeps that hold the run, each with its note: why the run was made.
  for (const s of sweepsOfRun(store, r.id)) kv(`sweep ${s.id}`, `${s.spec} (profile ${s.profile}, ${s.status})${s.note ? `: ${s.note}` : ''}`);
  kv('where', `${r.executor ?? '-'} ${r.device ?? ''} job ${r.job_id ?? '-'}`);
  kv('backend', backendLabel(r));
  kv('attempts', r.attempts);
  kv('started', r.started_at);
  kv('finished', r.finished_at);
  kv('time', `${formatDuration(r.wall_ms)} wall, ${formatDuration(r.train_ms)} training`);
  kv('steps', `${r.steps ?? '-'} of ${r.max_steps ?? '-'}${r.skipped_steps ? ` (${r.skipped_steps} skipped by the fp16 scaler)` : ''}`);
  kv('params', `${formatCount(r.params_total_start)} at start -> ${formatCount(r.params_total)} at end; MLP ${formatCount(r.params_mlp_start)} -> ${formatCount(r.params_mlp)}`);
  kv('FLOPs/token', `${formatCount(r.flops_per_token_start)} -> ${formatCount(r.flops_per_token)}`);
  kv('final', `train loss ${formatNumber(r.train_loss)}, valid loss ${formatNumber(r.valid_loss)} (best ${formatNumber(r.best_valid_loss)}), valid ppl ${formatNumber(r.valid_ppl)}, test ppl ${formatNumber(r.test_ppl)}`);
  kv('folder', `${r.run_dir} (log: ${join(r.run_dir, 'train.log')})`);
  return out;
}

/** The training loss over steps, thinned to about trainRows lines (the last step always shown). */
function trainLines(store: Store, r: RunRow, trainRows: number): string[] {
  const train = store.metrics(r.id, 'train');
  if (!train.length) return [];
  const out = ['', `train loss (${train.length} steps stored; ${Math.min(trainRows, train.length)} shown)`];
  const every = Math.max(1, Math.ceil(train.length / trainRows));
  const shown = train.filter((_, i) => i % every === 0 || i === train.length - 1);
  for (const m of shown) {
    out.push(`  step ${String(m.step).padStart(6)}  loss ${formatNumber(m.loss).padEnd(8)} lr ${formatNumber(m.lr, 2).padEnd(9)} grad ${formatNumber(m.grad_norm).padEnd(8)} ${Math.round(m.tokens_per_sec ?? 0)} tok/s${m.skipped ? '  skipped' : ''}`);
  }
  return out;
}

function evalLines(store: Store, r: RunRow): string[] {
  const evals = [...store.metrics(r.id, 'valid'), ...store.metrics(r.id, 'test')];
  if (!evals.length) return [];
  return ['', 'evaluations', ...evals.map((m) => `  step ${String(m.step).padStart(6)}  ${m.split.padEnd(5)} loss ${formatNumber(m.loss)}  ppl ${formatNumber(m.ppl)}`)];
}

/** Each layer's rank determinations as step:rank, long histories cut in the middle. */
function rankLines(store: Store, r: RunRow): string[] {
  const ranks = store.rankEvents(r.id);
  if (!ranks.length) return [];
  const out = ['', 'rank history (per layer: step:rank ...)'];
  const byLayer = new Map<string, string[]>();
  for (const e of ranks) byLayer.set(e.layer, [...(byLayer.get(e.layer) ?? []), `${e.step}:${e.current_modes}`]);
  for (const [layer, hist] of byLayer) {
    const shown = hist.length > 12 ? [...hist.slice(0, 6), '...', ...hist.slice(-5)] : hist;
    out.push(`  ${layer.padEnd(14)} ${shown.join(' ')}`);
  }
  return out;
}
