// The report's plots as Vega-Lite specs. The HTML report embeds them live (Vega-Embed, bundled
// into the page) or, with --static, as SVG rendered here in Node (no browser, no network).
// Each chart has a stable id and a kind so a test (or a reader's script) can find it.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { SweepData } from '../store/sweep-read.ts';
import { buildEntries } from './entries.ts';
import { labelsFor } from './labels.ts';
import type { ComparisonTable } from './table.ts';
import { curveCharts } from './chart-curves.ts';
import { settingCharts } from './chart-setting.ts';
import { rankCharts } from './chart-ranks.ts';
import { paramsChart } from './chart-params.ts';
import { trialsChart } from './chart-trials.ts';

export type ChartKind =
  | 'valid-vs-step' | 'valid-vs-time' | 'valid-vs-tokens' | 'train-loss'
  | 'metric-vs-setting' | 'params-vs-ppl' | 'rank-growth' | 'singular-values' | 'trials';

export interface ChartSpec {
  /** Stable within a report: the kind, plus the run id or axis for charts that repeat. */
  id: string;
  kind: ChartKind;
  title: string;
  /** Rows of data the chart draws. */
  points: number;
  spec: TopLevelSpec;
}

export interface RenderedChart extends Omit<ChartSpec, 'spec'> {
  /** The chart as SVG (static report). */
  svg?: string;
  /** The Vega-Lite spec the page embeds (interactive report). */
  spec?: TopLevelSpec;
}

export { evenlySpaced, type Datum } from './chart-kit.ts';

/** Every chart the report has data for, in reading order. */
export function buildCharts(data: SweepData, table: ComparisonTable): ChartSpec[] {
  const entries = buildEntries(data);
  const labels = labelsFor(entries);
  return [
    ...trialsChart(data.trials),
    ...curveCharts(entries, data, labels),
    ...settingCharts(table),
    ...paramsChart(entries, labels),
    ...rankCharts(entries, data, labels),
  ];
}

/** Vega-Lite's layout notes ("Maximum optimization runs reached") are not the user's business. */
const quiet = vega.logger(vega.Error);

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec, { logger: quiet }).spec), { renderer: 'none', logger: quiet });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Static: each chart as SVG. Interactive: each chart's spec, drawn by the page. */
export async function renderCharts(charts: ChartSpec[], mode: 'static' | 'interactive' = 'static'): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  for (const { spec, ...meta } of charts) {
    out.push(mode === 'static' ? { ...meta, svg: await renderSvg(spec) } : { ...meta, spec });
  }
  return out;
}
