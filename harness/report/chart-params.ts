// Size against quality: each finished run's parameter count against its test perplexity,
// coloured by method and setting, one point per seed.
import type { TopLevelSpec } from 'vega-lite';
import type { Entry } from './entries.ts';
import type { Labels } from './labels.ts';
import type { ChartSpec } from './charts.ts';
import { colourBy, interaction, naturalOrder, type Datum } from './chart-kit.ts';

export function paramsChart(entries: Entry[], labels: Labels): ChartSpec[] {
  const values: Datum[] = [];
  for (const e of entries) {
    const d = e.done;
    if (!d || d.params === null || d.testPpl === null) continue;
    values.push({ series: labels.full(e), group: labels.without(e, ['seed']), precision: e.precision, params: d.params / 1e6, ppl: d.testPpl });
  }
  if (values.length === 0) return [];
  const { params, opacity } = interaction('group');
  const spec = {
    title: 'Parameters vs test perplexity',
    width: 420,
    height: 280,
    data: { values },
    params,
    mark: { type: 'point', filled: true, size: 90 },
    encoding: {
      x: { field: 'params', type: 'quantitative', title: 'parameters (millions)', scale: { zero: false, padding: 12 } },
      y: { field: 'ppl', type: 'quantitative', title: 'test perplexity', scale: { zero: false, padding: 12 } },
      color: colourBy('group', 'run', naturalOrder(values.map((v) => v.group)).length, naturalOrder(values.map((v) => v.group))),
      // A shape per precision only where there are two.
      ...(new Set(values.map((v) => v.precision)).size > 1 ? { shape: { field: 'precision', type: 'nominal' } } : {}),
      opacity,
      tooltip: [
        { field: 'series', type: 'nominal', title: 'run' },
        { field: 'params', type: 'quantitative', title: 'parameters (M)', format: '.3f' },
        { field: 'ppl', type: 'quantitative', title: 'test perplexity', format: '.2f' },
      ],
    },
  } as TopLevelSpec;
  return [{ id: 'params-vs-ppl', kind: 'params-vs-ppl', title: 'Parameters vs test perplexity', points: values.length, spec }];
}
