// InRank's own charts, per InRank configuration (its first seed): the rank of every layer over
// stage 1 (growing at each determination) and stage 2 (fixed at the pruned rank), and the top
// singular values each determination saw, one line per determination.
import type { TopLevelSpec } from 'vega-lite';
import type { RankPoint, ReportRun, SweepData } from '../store/sweep-read.ts';
import { stageTwoOwn, type Entry } from './entries.ts';
import type { Labels } from './labels.ts';
import type { ChartSpec } from './charts.ts';
import { colourBy, evenlySpaced, interaction, type Datum } from './chart-kit.ts';

const LEGEND_LIMIT = 16;
const SV_MAX_LAYERS = 12;
const SV_MAX_DETERMINATIONS = 8;

const byName = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/** The InRank entries to draw: one per configuration, its lowest seed (the others differ by noise). */
function firstSeeds(entries: Entry[], labels: Labels): Entry[] {
  const chosen = new Map<string, Entry>();
  for (const e of entries) {
    if (e.method !== 'inrank') continue;
    const key = labels.without(e, ['seed']);
    const had = chosen.get(key);
    if (!had || e.seed < had.seed) chosen.set(key, e);
  }
  return [...chosen.values()];
}

/** Each layer's rank over both stages: init, every determination, the stage-1 end, then flat at the pruned rank. */
function rankRows(e: Entry, s1: ReportRun, events: RankPoint[], layers: string[], data: SweepData): { rows: Datum[]; boundary: number | null } {
  const init: number | null = s1.config.inrank.initModes;
  const s1End = s1.row.steps;
  const s2 = e.stage1 && e.final?.row.stage === 'stage2' ? e.final : null;
  const pruned = s2?.ranks ?? s1.ranks;
  const s2End = s2 && s1End !== null ? s1End + (stageTwoOwn(s1, s2, data).steps ?? 0) : null;
  const rows: Datum[] = [];
  for (const layer of layers) {
    const own = events.filter((p) => p.layer === layer);
    if (init !== null) rows.push({ layer, step: 0, rank: init, stage: 'stage 1' });
    for (const p of own) rows.push({ layer, step: p.step, rank: p.currentModes, stage: 'stage 1' });
    const last = own.at(-1)?.currentModes ?? init;
    if (s1End !== null && last !== null && s1End > (own.at(-1)?.step ?? 0)) rows.push({ layer, step: s1End, rank: last, stage: 'stage 1' });
    const fixed = pruned?.[layer];
    if (s2 && s1End !== null && fixed !== undefined) {
      rows.push({ layer, step: s1End, rank: fixed, stage: 'stage 2 (pruned, fixed)' });
      if (s2End !== null && s2End > s1End) rows.push({ layer, step: s2End, rank: fixed, stage: 'stage 2 (pruned, fixed)' });
    }
  }
  return { rows, boundary: s2 ? s1End : null };
}

function rankSpec(rows: Datum[], boundary: number | null, layers: string[], label: string): TopLevelSpec {
  const { params, opacity } = interaction('layer');
  // From 0 with room above the highest rank, so a layer at the top is not drawn on the frame.
  const top = Math.max(1, ...rows.map((r) => Number(r.rank)));
  const lines = {
    data: { values: rows },
    params,
    mark: { type: 'line', interpolate: 'step-after', point: layers.length <= LEGEND_LIMIT ? { size: 22 } : false },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
      y: { field: 'rank', type: 'quantitative', title: 'rank (modes)', scale: { domain: [0, Math.ceil(top * 1.1) + 1], nice: false } },
      color: { ...colourBy('layer', 'layer', layers.length, layers), ...(layers.length > LEGEND_LIMIT ? { legend: null } : {}) },
      opacity,
      tooltip: [
        { field: 'layer', type: 'nominal' },
        { field: 'stage', type: 'nominal' },
        { field: 'step', type: 'quantitative' },
        { field: 'rank', type: 'quantitative' },
      ],
    },
  };
  const stageMark = {
    data: { values: boundary === null ? [] : [{ step: boundary, text: 'stage 2: pruned' }] },
    layer: [
      { mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { x: { field: 'step', type: 'quantitative' } } },
      { mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 4, color: '#555', y: 236 }, encoding: { x: { field: 'step', type: 'quantitative' }, text: { field: 'text' } } },
    ],
  };
  return {
    title: { text: 'Rank per layer, stage 1 and stage 2', subtitle: `${label} (${layers.length} layers)` },
    width: 520,
    height: 240,
    layer: boundary === null ? [lines] : [lines, stageMark],
  } as TopLevelSpec;
}

/** The spectra of evenly spaced layers and determinations; a determination is (step, counter): one step may hold two. */
function spectrumChart(run: ReportRun, events: RankPoint[], layers: string[], label: string): ChartSpec | null {
  const determinations = [...new Map(events.map((p) => [`${p.step}:${p.counter}`, { step: p.step, counter: p.counter }])).values()]
    .sort((a, b) => a.step - b.step || a.counter - b.counter);
  const shownLayers = new Set(evenlySpaced(layers, SV_MAX_LAYERS));
  const shown = new Set(evenlySpaced(determinations, SV_MAX_DETERMINATIONS).map((d) => `${d.step}:${d.counter}`));
  const values: Datum[] = events
    .filter((p) => shownLayers.has(p.layer) && shown.has(`${p.step}:${p.counter}`))
    .flatMap((p) =>
      p.singularValues.filter((s) => s > 0).map((s, i) => ({
        layer: p.layer, step: p.step, counter: p.counter, determination: `step ${p.step}, pass ${p.counter}`, index: i + 1, value: s, rank: p.currentModes,
      })),
    );
  if (values.length === 0) return null;
  const thinned =
    shownLayers.size < layers.length || shown.size < determinations.length
      ? ` (${shownLayers.size} of ${layers.length} layers, ${shown.size} of ${determinations.length} determinations)`
      : '';
  const spec = {
    title: { text: 'Top singular values at each rank determination', subtitle: `${label}${thinned}` },
    data: { values },
    facet: { field: 'layer', type: 'nominal', title: null, sort: [...shownLayers] },
    columns: 4,
    spec: {
      width: 150,
      height: 100,
      params: [{ name: 'zoom', select: 'interval', bind: 'scales' }],
      mark: { type: 'line', strokeWidth: 1, point: { size: 10 } },
      encoding: {
        x: { field: 'index', type: 'quantitative', title: 'index' },
        y: { field: 'value', type: 'quantitative', title: 'singular value', scale: { type: 'log' } },
        // A few determinations read best as discrete colours; many as a gradient.
        color: { field: 'step', type: shown.size <= 12 ? 'ordinal' : 'quantitative', title: 'step', scale: { scheme: 'viridis' } },
        detail: { field: 'determination', type: 'nominal' },
        tooltip: [
          { field: 'layer', type: 'nominal' },
          { field: 'determination', type: 'nominal' },
          { field: 'index', type: 'quantitative' },
          { field: 'value', type: 'quantitative', format: '.4g' },
          { field: 'rank', type: 'quantitative', title: 'rank chosen' },
        ],
      },
    },
  } as TopLevelSpec;
  return {
    id: `singular-values-${run.row.id}`, kind: 'singular-values', title: `Top singular values at each rank determination: ${label}`,
    points: values.length, spec,
  };
}

export function rankCharts(entries: Entry[], data: SweepData, labels: Labels): ChartSpec[] {
  const out: ChartSpec[] = [];
  for (const e of firstSeeds(entries, labels)) {
    const s1 = e.stage1 ?? e.final;
    const events = s1 ? data.rankEvents.get(s1.row.id) ?? [] : [];
    if (!s1 || events.length === 0) continue;
    const label = `${labels.without(e, [])}${labels.dims.includes('seed') ? '' : ` s${e.seed}`}`;
    const layers = [...new Set(events.map((p) => p.layer))].sort(byName);
    const { rows, boundary } = rankRows(e, s1, events, layers, data);
    out.push({
      id: `rank-growth-${s1.row.id}`, kind: 'rank-growth', title: `Rank per layer: ${label}`, points: rows.length,
      spec: rankSpec(rows, boundary, layers, label),
    });
    const sv = spectrumChart(s1, events, layers, label);
    if (sv) out.push(sv);
  }
  return out;
}
