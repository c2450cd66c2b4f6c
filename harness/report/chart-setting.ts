// What the sweep varied, on the x axis: for every swept setting, test perplexity, parameters
// and x faster against the setting's value, one line per value of the other settings (and
// model, method, precision where those vary), mean ± std over seeds as error bars, and the
// full-rank baseline of the same model as a dashed rule.
import type { TopLevelSpec } from 'vega-lite';
import type { AxisValue } from '../store/sweep-read.ts';
import type { ComparisonBlock, ComparisonRow, ComparisonTable, Figure } from './table.ts';
import type { ChartSpec } from './charts.ts';
import { colourBy, interaction, naturalOrder, type Datum } from './chart-kit.ts';
import { methodLabel } from './format.ts';

interface Metric {
  name: string;
  figure: (r: ComparisonRow) => Figure;
  scale: number;
}

const METRICS: Metric[] = [
  { name: 'test perplexity', figure: (r) => r.testPpl, scale: 1 },
  { name: 'parameters (millions)', figure: (r) => r.params, scale: 1e-6 },
  { name: 'x faster (wall-clock)', figure: (r) => r.faster, scale: 1 },
];

const short = (axis: string): string => axis.split('.').pop()!;

/** A row's line: the other swept settings, and the row columns that vary among the chart's rows. */
function seriesNamer(rows: ComparisonRow[], others: string[]): (r: ComparisonRow) => string {
  const varies = (f: (r: ComparisonRow) => string): boolean => new Set(rows.map(f)).size > 1;
  const all: ((r: ComparisonRow) => string)[] = [(r) => r.model, (r) => methodLabel(r.method), (r) => r.precision];
  const cols = all.filter(varies);
  return (r) => {
    const parts = [...cols.map((c) => c(r)), ...others.filter((a) => a in r.axes).map((a) => `${short(a)}=${String(r.axes[a])}`)];
    return parts.length ? parts.join(' ') : methodLabel(r.method);
  };
}

function cellRows(rows: ComparisonRow[], axis: string, series: (r: ComparisonRow) => string): Datum[] {
  return rows.flatMap((r) =>
    METRICS.flatMap((m) => {
      const f = m.figure(r);
      if (f.kind !== 'value') return [];
      const mean = f.mean * m.scale;
      const std = (f.std ?? 0) * m.scale;
      return [{ kind: 'cell', metric: m.name, x: r.axes[axis] as AxisValue as string | number, series: series(r), mean, lo: mean - std, hi: mean + std, n: f.n, seeds: r.seeds.join(' ') }];
    }),
  );
}

/** The full-rank runs of the models in the chart, as reference levels (x faster is 1 by definition). */
function baselineRows(block: ComparisonBlock, models: Set<string>): Datum[] {
  return block.rows
    .filter((r) => r.method === 'full' && models.has(r.model))
    .flatMap((r) =>
      METRICS.flatMap((m) => {
        const f = m.figure(r);
        return f.kind === 'value' ? [{ kind: 'baseline', metric: m.name, mean: f.mean * m.scale, series: `full rank ${r.model} ${r.precision}` }] : [];
      }),
    );
}

function settingSpec(values: Datum[], axis: string, numeric: boolean, order: (string | number)[]): TopLevelSpec {
  const lines = naturalOrder(values.filter((v) => v.kind === 'cell').map((v) => v.series));
  const baseline = values.some((v) => v.kind === 'baseline') ? '; dashed: the full-rank run of the same model' : '; no full-rank run to compare with';
  const { params, opacity } = interaction('series');
  // Ticks at the swept values themselves, all of them on the axis even where no run finished;
  // padding keeps the end points' error bars inside the frame.
  const x = numeric
    ? { field: 'x', type: 'quantitative', title: axis, scale: { domain: [Math.min(...(order as number[])), Math.max(...(order as number[]))], padding: 16 }, axis: { values: order, format: '~g' } }
    : { field: 'x', type: 'ordinal', title: axis, sort: order };
  const cell = { filter: "datum.kind === 'cell'" };
  const tooltip = [
    { field: 'series', type: 'nominal', title: 'line' },
    { field: 'x', title: axis },
    { field: 'metric', type: 'nominal' },
    { field: 'mean', type: 'quantitative', format: '.3f', title: 'mean' },
    { field: 'lo', type: 'quantitative', format: '.3f', title: 'mean - std' },
    { field: 'hi', type: 'quantitative', format: '.3f', title: 'mean + std' },
    { field: 'seeds', type: 'nominal' },
  ];
  return {
    title: { text: `Test perplexity, parameters and x faster vs ${axis}`, subtitle: `mean ± std over seeds${baseline}` },
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: METRICS.map((m) => m.name), header: { labelFontSize: 13, labelFontWeight: 'bold' } } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 240,
      height: 200,
      layer: [
        {
          transform: [cell],
          params,
          mark: { type: 'line', point: { size: 50, filled: true } },
          encoding: { x, y: { field: 'mean', type: 'quantitative', title: null, scale: { zero: false, padding: 8 } }, color: colourBy('series', 'line', lines.length, lines), opacity, tooltip },
        },
        {
          // Named so a reader's script (and the browser test) can find the error bars.
          name: 'errorbars',
          transform: [cell],
          mark: { type: 'errorbar', ticks: true },
          encoding: { x, y: { field: 'lo', type: 'quantitative', title: null }, y2: { field: 'hi' }, color: { field: 'series', type: 'nominal' }, opacity, tooltip },
        },
        {
          name: 'baseline',
          transform: [{ filter: "datum.kind === 'baseline'" }],
          mark: { type: 'rule', strokeDash: [5, 4], color: '#777' },
          encoding: { y: { field: 'mean', type: 'quantitative' }, tooltip: [{ field: 'series', title: 'baseline' }, { field: 'mean', format: '.3f' }] },
        },
      ],
    },
  } as TopLevelSpec;
}

/** One chart per block and swept setting with at least two values. */
export function settingCharts(table: ComparisonTable): ChartSpec[] {
  const out: ChartSpec[] = [];
  for (const block of table.blocks) {
    for (const axis of block.axisNames) {
      const rows = block.rows.filter((r) => axis in r.axes);
      const order = [...new Set(rows.map((r) => r.axes[axis] as string | number))];
      if (order.length < 2) continue;
      const numeric = order.every((v) => typeof v === 'number');
      const series = seriesNamer(rows, block.axisNames.filter((a) => a !== axis));
      const values = [...cellRows(rows, axis, series), ...baselineRows(block, new Set(rows.map((r) => r.model)))];
      if (!values.some((v) => v.kind === 'cell')) continue;
      const profile = table.blocks.length > 1 ? ` (profile ${block.profile})` : '';
      out.push({
        id: `metric-vs-setting-${block.profile}-${axis}`, kind: 'metric-vs-setting', title: `Metrics vs ${axis}${profile}`,
        points: values.length, spec: settingSpec(values, axis, numeric, order),
      });
    }
  }
  return out;
}
