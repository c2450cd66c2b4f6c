// The report's "trials" chart for a search: the metric of each trial in proposal order, the
// best so far as a line, and the pruned trials apart (their validation perplexity at the rung
// where ASHA stopped them, as crosses).
import type { TopLevelSpec } from 'vega-lite';
import type { ResolvedSearch } from '../spec/search-space.ts';
import type { SweepTrial } from '../store/search-store.ts';
import type { ChartSpec } from './charts.ts';

type Datum = Record<string, string | number>;

export function trialsChart(trials: readonly SweepTrial[]): ChartSpec[] {
  if (trials.length === 0) return [];
  const settings = JSON.parse(trials[0]!.settings) as ResolvedSearch;
  const metric = settings.metric.value.replace(/_/g, ' ');
  const sign = settings.metric.direction === 'maximize' ? -1 : 1;
  const points: Datum[] = [];
  let best: number | null = null;
  for (const t of trials) {
    if (t.value !== null) {
      best = best === null || sign * t.value < sign * best ? t.value : best;
      points.push({ trial: t.trial, value: t.value, outcome: metric, best });
    } else if (t.status === 'pruned' && t.pruned_value !== null && Number.isFinite(t.pruned_value)) {
      points.push({ trial: t.trial, value: t.pruned_value, outcome: 'pruned (valid ppl at its rung)' });
    }
  }
  if (points.length === 0) return [];
  const title = `Trials: ${metric} per trial (${settings.strategy}${settings.earlyStop ? ', ASHA' : ''})`;
  const spec: TopLevelSpec = {
    title,
    width: 460,
    height: 260,
    data: { values: points },
    layer: [
      {
        transform: [{ filter: 'isValid(datum.best)' }],
        mark: { type: 'line', interpolate: 'step-after', color: '#888' },
        encoding: { x: { field: 'trial', type: 'quantitative' }, y: { field: 'best', type: 'quantitative' } },
      },
      {
        mark: { type: 'point', filled: true, size: 80 },
        encoding: {
          x: { field: 'trial', type: 'quantitative', title: 'trial (proposal order)', axis: { tickMinStep: 1 } },
          y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } },
          color: { field: 'outcome', type: 'nominal', title: null },
          shape: { field: 'outcome', type: 'nominal', scale: { range: ['circle', 'cross'] }, title: null },
        },
      },
    ],
  };
  return [{ id: 'trials', kind: 'trials', title, points: points.length, spec }];
}
