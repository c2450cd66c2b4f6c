// What a finished trial scored, from its runs' stored rows: the metric of its last run, its
// status (pruned when any of its runs was), and the tokens it trained.
import type { ResolvedSearch } from '../spec/search-space.ts';
import type { RunRow } from '../store/rows.ts';
import type { TrialStatus } from '../store/search-store.ts';
import type { RunConfig } from '../contract/config.ts';

export interface TrialOutcome {
  status: TrialStatus;
  value: number | null;
  tokens: number | null;
  note: string | null;
}

/** Tokens a trial's runs trained: the furthest step any of them reached (a stage 2 counts on from its stage 1). */
export function trialTokens(rows: readonly RunRow[]): number | null {
  let tokens: number | null = null;
  for (const r of rows) {
    if (r.steps === null) continue;
    const c = JSON.parse(r.config) as RunConfig;
    tokens = Math.max(tokens ?? 0, r.steps * c.train.globalBatch * c.model.context);
  }
  return tokens;
}

function metricOf(row: RunRow, metric: ResolvedSearch['metric']): number | null {
  switch (metric.value) {
    case 'test_ppl':
      return row.test_ppl;
    case 'valid_ppl':
      return row.valid_ppl;
    case 'best_valid_ppl':
      return row.best_valid_loss === null ? null : Math.exp(row.best_valid_loss);
  }
}

/** null while some run of the trial has no result yet. */
export function trialOutcome(rows: readonly RunRow[], metric: ResolvedSearch['metric']): TrialOutcome | null {
  const tokens = trialTokens(rows);
  const pruned = rows.find((r) => r.status === 'pruned');
  if (pruned) return { status: 'pruned', value: null, tokens, note: pruned.reason };
  const bad = rows.find((r) => r.status === 'failed' || r.status === 'skipped' || r.status === 'diverged');
  if (bad) return { status: bad.status === 'diverged' ? 'diverged' : 'failed', value: null, tokens, note: `${bad.name} ${bad.status}${bad.reason ? `: ${bad.reason}` : ''}` };
  const last = rows[rows.length - 1];
  if (!last || last.status !== 'done') return null;
  const value = metricOf(last, metric);
  if (value === null) return { status: 'done', value: null, tokens, note: `no ${metric.value} recorded` };
  if (metric.maxParams !== null && last.params_total !== null && last.params_total > metric.maxParams) {
    return { status: 'done', value: null, tokens, note: `${last.params_total} parameters, over the budget of ${metric.maxParams}` };
  }
  return { status: 'done', value, tokens, note: null };
}
