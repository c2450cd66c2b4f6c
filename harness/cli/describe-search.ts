// A search as text: its settings, its trials ranked by the metric (pruned and failed ones after
// the scored ones), and what ASHA decided at each rung. Used by `npm run show <sweep>` and at
// the end of a search.
import Table from 'cli-table3';
import type { ResolvedSearch } from '../spec/search-space.ts';
import { describeDistribution } from '../spec/search-space.ts';
import { searchRungs, searchTrials, type SearchRow, type TrialRow } from '../store/search-store.ts';
import type { Store } from '../store/store.ts';
import { formatCount } from './common.ts';

const STATUS_ORDER: Record<string, number> = { done: 0, pruned: 1, diverged: 2, failed: 3, pending: 4 };

/** Scored trials best first, then the rest by status and trial number. */
export function rankTrials(trials: readonly TrialRow[], direction: 'minimize' | 'maximize'): TrialRow[] {
  const sign = direction === 'maximize' ? -1 : 1;
  return [...trials].sort((a, b) => {
    if (a.value !== null && b.value !== null) return sign * (a.value - b.value) || a.trial - b.trial;
    if (a.value !== null || b.value !== null) return a.value !== null ? -1 : 1;
    return (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || a.trial - b.trial;
  });
}

function formatValue(v: unknown): string {
  return typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toPrecision(4))) : String(v);
}

export function describeSearch(store: Store, search: SearchRow): string {
  const settings = JSON.parse(search.settings) as ResolvedSearch;
  const trials = searchTrials(store, search.id);
  const rungs = searchRungs(store, search.id);
  const keys = Object.keys(settings.space);
  const lines: string[] = [];
  lines.push(`search ${search.id} of spec ${search.spec} (profile ${search.profile}): ${search.strategy}, seed ${search.seed}, ${trials.length} of ${settings.trials} trials proposed, ${settings.maxParallel} at a time`);
  lines.push(`metric: ${settings.metric.value} (${settings.metric.direction})${settings.metric.maxParams ? ` at most ${formatCount(settings.metric.maxParams)} parameters` : ''}`);
  for (const k of keys) lines.push(`  ${k}: ${describeDistribution(settings.space[k]!)}`);
  if (settings.earlyStop) lines.push(`early stopping: ASHA, reduction factor ${settings.earlyStop.reductionFactor}`);
  const table = new Table({
    head: ['rank', 'trial', 'status', settings.metric.value, ...keys.map((k) => k.split('.').pop()!), 'tokens', 'rungs passed', 'note'],
    style: { head: [], border: [], compact: true },
  });
  const ranked = rankTrials(trials, settings.metric.direction);
  ranked.forEach((t, i) => {
    const params = JSON.parse(t.params) as Record<string, unknown>;
    const passed = rungs.filter((r) => r.trial === t.trial && r.decision === 'continue').length;
    const note = t.value === null ? (t.note ?? '') : '';
    table.push([t.value !== null ? String(i + 1) : '-', String(t.trial), t.status, t.value === null ? '-' : t.value.toFixed(2),
      ...keys.map((k) => formatValue(params[k])), formatCount(t.tokens), String(passed), note.length > 70 ? `${note.slice(0, 67)}...` : note]);
  });
  lines.push(table.toString());
  lines.push(summaryLine(trials, settings));
  return `${lines.join('\n')}\n`;
}

/** e.g. "best test_ppl 208.12 (trial 7); 12 trials: 7 done, 5 pruned; 2.6M tokens trained". */
export function summaryLine(trials: readonly TrialRow[], settings: ResolvedSearch): string {
  const best = rankTrials(trials, settings.metric.direction).find((t) => t.value !== null);
  const counts = new Map<string, number>();
  for (const t of trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const tokens = trials.reduce((s, t) => s + (t.tokens ?? 0), 0);
  const byStatus = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  return `${best ? `best ${settings.metric.value} ${best.value!.toFixed(2)} (trial ${best.trial})` : 'no scored trial yet'}; ${trials.length} trials: ${byStatus}; ${formatCount(tokens)} tokens trained`;
}
