// The report's plots as Vega-Lite specs, rendered to SVG in Node (no browser, no network).
// Each chart has a stable id and a kind so a test (or a reader's script) can find it.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { SweepData, ReportRun, ValidPoint } from './query.ts';
import { buildEntries, stageTwoOwn, type Entry } from './entries.ts';
import { methodLabel } from './format.ts';

export type ChartKind = 'valid-vs-step' | 'valid-vs-time' | 'rank-growth' | 'singular-values' | 'params-vs-ppl' | 'trials';

export interface ChartSpec {
  /** Stable within a sweep: the kind, plus the run id for per-run charts. */
  id: string;
  kind: ChartKind;
  title: string;
  /** Rows of data the chart draws. */
  points: number;
  spec: TopLevelSpec;
}

export interface RenderedChart extends Omit<ChartSpec, 'spec'> {
  svg: string;
}

type Datum = Record<string, string | number>;

const LEGEND_LIMIT = 16;
const SV_MAX_LAYERS = 12;
const SV_MAX_DETERMINATIONS = 8;

/** At most n items spread evenly over the list, first and last included. */
export function evenlySpaced<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  const picked = new Set<number>();
  for (let i = 0; i < n; i++) picked.add(Math.round((i * (items.length - 1)) / (n - 1)));
  return [...picked].sort((a, b) => a - b).map((i) => items[i]!);
}

/** A readable series name: the row's columns plus the seed (stage suffixes dropped). */
export function entryLabel(e: Entry): string {
  const axes = Object.entries(e.axes).map(([k, v]) => `${k.split('.').pop()}=${String(v)}`);
  return [e.model, methodLabel(e.method), e.precision, ...axes, `s${e.seed}`].join(' ');
}

/** Training clock at a step: the last recorded training step at or before it. */
function trainMsAt(points: { step: number; trainMs: number }[], step: number): number | null {
  let found: number | null = null;
  for (const p of points) {
    if (p.step > step) break;
    found = p.trainMs;
  }
  return found;
}

/** Validation points of an entry on one timeline (stage 2 placed after stage 1). */
function validSeries(e: Entry, data: SweepData): { step: number; ppl: number; seconds: number | null }[] {
  const pieces: { run: ReportRun; stepOffset: number; msOffset: number }[] = [];
  if (e.stage1) {
    pieces.push({ run: e.stage1, stepOffset: 0, msOffset: 0 });
    if (e.final) {
      const own = stageTwoOwn(e.stage1, e.final, data);
      const s1Steps = e.stage1.row.steps ?? 0;
      const s1Ms = e.stage1.row.train_ms ?? 0;
      // When stage 2 restarted its counters, shift it to follow stage 1.
      const stepOffset = own.steps !== null && e.final.row.steps !== null && own.steps === e.final.row.steps ? s1Steps : 0;
      const msOffset = own.trainMs !== null && e.final.row.train_ms !== null && own.trainMs === e.final.row.train_ms ? s1Ms : 0;
      pieces.push({ run: e.final, stepOffset, msOffset });
    }
  } else if (e.final) {
    pieces.push({ run: e.final, stepOffset: 0, msOffset: 0 });
  }
  return pieces.flatMap(({ run, stepOffset, msOffset }) => {
    const train = data.train.get(run.row.id) ?? [];
    return (data.valid.get(run.row.id) ?? []).map((v: ValidPoint) => {
      const ms = trainMsAt(train, v.step);
      return { step: v.step + stepOffset, ppl: v.ppl, seconds: ms === null ? null : (ms + msOffset) / 1000 };
    });
  });
}

function validCharts(entries: Entry[], data: SweepData): ChartSpec[] {
  const byStep: Datum[] = [];
  const byTime: Datum[] = [];
  for (const e of entries) {
    const series = entryLabel(e);
    const method = methodLabel(e.method);
    for (const p of validSeries(e, data)) {
      byStep.push({ series, method, step: p.step, ppl: p.ppl });
      if (p.seconds !== null) byTime.push({ series, method, seconds: p.seconds, ppl: p.ppl });
    }
  }
  const seriesCount = new Set(byStep.map((d) => d.series)).size;
  const line = (values: Datum[], x: string, xTitle: string, title: string): TopLevelSpec => ({
    title,
    data: { values },
    facet: { column: { field: 'method', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: x, type: 'quantitative', title: xTitle },
        y: { field: 'ppl', type: 'quantitative', title: 'validation perplexity', scale: { type: 'log' } },
        color: { field: 'series', type: 'nominal', title: 'run', legend: seriesCount > LEGEND_LIMIT * 2 ? null : { labelLimit: 360 } },
      },
    },
  });
  const out: ChartSpec[] = [];
  if (byStep.length) {
    out.push({
      id: 'valid-vs-step', kind: 'valid-vs-step', title: 'Validation perplexity vs optimizer step, per method', points: byStep.length,
      spec: line(byStep, 'step', 'optimizer step', 'Validation perplexity vs step'),
    });
  }
  if (byTime.length) {
    out.push({
      id: 'valid-vs-time', kind: 'valid-vs-time', title: 'Validation perplexity vs training wall-clock, per method', points: byTime.length,
      spec: line(byTime, 'seconds', 'training time (s)', 'Validation perplexity vs wall-clock'),
    });
  }
  return out;
}

function numberIn(obj: Record<string, unknown>, section: string, key: string): number | null {
  const sec = obj[section];
  const v = typeof sec === 'object' && sec !== null ? (sec as Record<string, unknown>)[key] : undefined;
  return typeof v === 'number' ? v : null;
}

function inrankRun(e: Entry): ReportRun | null {
  if (e.method !== 'inrank') return null;
  return e.stage1 ?? e.final;
}

function rankCharts(entries: Entry[], data: SweepData): ChartSpec[] {
  const out: ChartSpec[] = [];
  for (const e of entries) {
    const run = inrankRun(e);
    const events = run ? data.rankEvents.get(run.row.id) ?? [] : [];
    if (!run || events.length === 0) continue;
    const label = entryLabel(e);
    const layers = new Set([...new Set(events.map((p) => p.layer))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })));
    const values: Datum[] = events.map((p) => ({ layer: p.layer, step: p.step, rank: p.currentModes }));
    // Each layer's curve starts at its initial rank and runs to the end of the stage, so a
    // layer decided once still draws a line.
    const init = numberIn(run.config, 'inrank', 'initModes');
    const lastStep = run.row.steps;
    for (const layer of layers) {
      const own = events.filter((p) => p.layer === layer);
      if (init !== null) values.push({ layer, step: 0, rank: init });
      if (lastStep !== null && own.length && lastStep > own[own.length - 1]!.step) {
        values.push({ layer, step: lastStep, rank: own[own.length - 1]!.currentModes });
      }
    }
    out.push({
      id: `rank-growth-${run.row.id}`, kind: 'rank-growth', title: `Rank growth per layer: ${label}`, points: values.length,
      spec: {
        title: { text: `Rank per layer over steps`, subtitle: `${label} (${layers.size} layers)` },
        width: 520,
        height: 240,
        data: { values },
        mark: { type: 'line', interpolate: 'step-after', point: layers.size <= LEGEND_LIMIT },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
          y: { field: 'rank', type: 'quantitative', title: 'current rank (modes)' },
          color: { field: 'layer', type: 'nominal', sort: [...layers], legend: layers.size > LEGEND_LIMIT ? null : {} },
        },
      },
    });

    // At the paper's sizes (72 layers, dozens of determinations) every spectrum would make a
    // multi-megabyte page: show evenly spaced layers and determinations, first and last kept.
    const allSteps = [...new Set(events.map((p) => p.step))].sort((a, b) => a - b);
    const shownLayers = new Set(evenlySpaced([...layers], SV_MAX_LAYERS));
    const shownSteps = new Set(evenlySpaced(allSteps, SV_MAX_DETERMINATIONS));
    const svValues: Datum[] = events
      .filter((p) => shownLayers.has(p.layer) && shownSteps.has(p.step))
      .flatMap((p) => p.singularValues.filter((s) => s > 0).map((s, i) => ({ layer: p.layer, step: p.step, index: i + 1, value: s })));
    if (svValues.length === 0) continue;
    const distinctSteps = shownSteps.size;
    const thinned =
      shownLayers.size < layers.size || shownSteps.size < allSteps.length
        ? ` (${shownLayers.size} of ${layers.size} layers, ${shownSteps.size} of ${allSteps.length} determinations)`
        : '';
    out.push({
      id: `singular-values-${run.row.id}`, kind: 'singular-values', title: `Top singular values at each rank determination: ${label}`,
      points: svValues.length,
      spec: {
        title: { text: 'Top singular values at each rank determination', subtitle: `${label}${thinned}` },
        data: { values: svValues },
        facet: { field: 'layer', type: 'nominal', title: null, sort: [...shownLayers] },
        columns: 4,
        spec: {
          width: 150,
          height: 100,
          mark: { type: 'line', strokeWidth: 1 },
          encoding: {
            x: { field: 'index', type: 'quantitative', title: 'index' },
            y: { field: 'value', type: 'quantitative', title: 'singular value', scale: { type: 'log' } },
            // A few determinations read best as discrete colours; many as a gradient.
            color: { field: 'step', type: distinctSteps <= 12 ? 'ordinal' : 'quantitative', title: 'step', scale: { scheme: 'viridis' } },
            detail: { field: 'step', type: 'nominal' },
          },
        },
      },
    });
  }
  return out;
}

function paramsChart(entries: Entry[]): ChartSpec[] {
  const values: Datum[] = [];
  for (const e of entries) {
    const d = e.done;
    if (!d || d.params === null || d.testPpl === null) continue;
    values.push({ series: entryLabel(e), method: methodLabel(e.method), precision: e.precision, params: d.params / 1e6, ppl: d.testPpl });
  }
  if (values.length === 0) return [];
  return [
    {
      id: 'params-vs-ppl', kind: 'params-vs-ppl', title: 'Parameters vs test perplexity', points: values.length,
      spec: {
        title: 'Parameters vs test perplexity',
        width: 420,
        height: 260,
        data: { values },
        mark: { type: 'point', filled: true, size: 90 },
        encoding: {
          x: { field: 'params', type: 'quantitative', title: 'parameters (millions)', scale: { zero: false } },
          y: { field: 'ppl', type: 'quantitative', title: 'test perplexity', scale: { zero: false } },
          color: { field: 'method', type: 'nominal' },
          shape: { field: 'precision', type: 'nominal' },
        },
      },
    },
  ];
}

/** Every chart the sweep has data for, in reading order. */
export function buildCharts(data: SweepData): ChartSpec[] {
  const entries = buildEntries(data);
  return [...validCharts(entries, data), ...paramsChart(entries), ...rankCharts(entries, data)];
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function renderCharts(charts: ChartSpec[]): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  for (const { spec, ...meta } of charts) out.push({ ...meta, svg: await renderSvg(spec) });
  return out;
}
