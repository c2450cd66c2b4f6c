// Curves over training, one panel per model, one colour per method (and per swept setting),
// one line per run: validation perplexity against optimizer steps, tokens seen and training
// wall-clock, and the training loss. InRank's stage 2 is drawn after its stage 1.
import type { TopLevelSpec } from 'vega-lite';
import type { ReportRun, SweepData } from '../store/sweep-read.ts';
import { stageTwoOwn, type Entry } from './entries.ts';
import type { Labels } from './labels.ts';
import type { ChartSpec } from './charts.ts';
import { colourBy, evenlySpaced, interaction, naturalOrder, type Datum } from './chart-kit.ts';

/** Training-loss points kept per line: enough for the shape, few enough for a light page. */
const LOSS_POINTS = 120;

interface Piece {
  run: ReportRun;
  stepOffset: number;
  msOffset: number;
}

/** An entry's runs on one timeline: stage 2 placed after stage 1 when it restarted its counters. */
function timeline(e: Entry, data: SweepData): Piece[] {
  if (!e.stage1) return e.final ? [{ run: e.final, stepOffset: 0, msOffset: 0 }] : [];
  const pieces: Piece[] = [{ run: e.stage1, stepOffset: 0, msOffset: 0 }];
  if (e.final) {
    const own = stageTwoOwn(e.stage1, e.final, data);
    const restartedSteps = own.steps !== null && e.final.row.steps !== null && own.steps === e.final.row.steps;
    const restartedMs = own.trainMs !== null && e.final.row.train_ms !== null && own.trainMs === e.final.row.train_ms;
    pieces.push({
      run: e.final,
      stepOffset: restartedSteps ? (e.stage1.row.steps ?? 0) : 0,
      msOffset: restartedMs ? (e.stage1.row.train_ms ?? 0) : 0,
    });
  }
  return pieces;
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

function tokensPerStep(run: ReportRun): number | null {
  const train = run.config['train'] as { globalBatch?: unknown } | undefined;
  const model = run.config['model'] as { context?: unknown } | undefined;
  const b = train?.globalBatch;
  const c = model?.context;
  return typeof b === 'number' && typeof c === 'number' ? b * c : null;
}

interface CurvePoint {
  step: number;
  tokens: number | null;
  seconds: number | null;
  value: number;
  stage: string;
}

function validPoints(e: Entry, data: SweepData): CurvePoint[] {
  return timeline(e, data).flatMap(({ run, stepOffset, msOffset }) => {
    const train = data.train.get(run.row.id) ?? [];
    const perStep = tokensPerStep(run);
    return (data.valid.get(run.row.id) ?? []).map((v) => {
      const ms = trainMsAt(train, v.step);
      const step = v.step + stepOffset;
      return {
        step, tokens: perStep === null ? null : step * perStep, seconds: ms === null ? null : (ms + msOffset) / 1000, value: v.ppl,
        stage: run.row.stage,
      };
    });
  });
}

function lossPoints(e: Entry, data: SweepData): CurvePoint[] {
  const all = timeline(e, data).flatMap(({ run, stepOffset, msOffset }) =>
    (data.train.get(run.row.id) ?? []).flatMap((t) =>
      t.loss === null || !Number.isFinite(t.loss)
        ? []
        : [{ step: t.step + stepOffset, tokens: null, seconds: (t.trainMs + msOffset) / 1000, value: t.loss, stage: run.row.stage }],
    ),
  );
  return evenlySpaced(all, LOSS_POINTS);
}

interface Axis {
  field: 'step' | 'tokens' | 'seconds';
  title: string;
  format: string;
}

const STEP: Axis = { field: 'step', title: 'optimizer step', format: 'd' };
const TOKENS: Axis = { field: 'tokens', title: 'tokens seen', format: '~s' };
const SECONDS: Axis = { field: 'seconds', title: 'training wall-clock (s)', format: '.1f' };

function panelSpec(values: Datum[], x: Axis, y: { title: string; log: boolean; pointSize: number }, title: string): TopLevelSpec {
  const groups = naturalOrder(values.map((d) => d.group));
  // Panels in the sweep's order of models (gpt2, medium, large), not alphabetical.
  const models = [...new Set(values.map((d) => String(d.model)))];
  const { params, opacity } = interaction('group');
  return {
    title,
    data: { values },
    facet: { column: { field: 'model', type: 'nominal', title: null, sort: models, header: { labelFontSize: 13, labelFontWeight: 'bold' } } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: 220,
      params,
      mark: { type: 'line', point: { size: y.pointSize }, strokeWidth: 1.6, clip: true },
      encoding: {
        x: { field: x.field, type: 'quantitative', title: x.title, axis: { format: x.format } },
        y: { field: 'value', type: 'quantitative', title: y.title, scale: y.log ? { type: 'log', nice: false, padding: 8 } : { zero: false, padding: 8 } },
        color: colourBy('group', 'method / setting', groups.length, groups),
        detail: { field: 'series', type: 'nominal' },
        opacity,
        tooltip: [
          { field: 'series', type: 'nominal', title: 'run' },
          { field: 'stage', type: 'nominal', title: 'stage' },
          { field: 'step', type: 'quantitative', title: 'step' },
          { field: x.field === 'step' ? 'tokens' : x.field, type: 'quantitative', title: x.field === 'step' ? 'tokens seen' : x.title, format: x.field === 'step' ? '~s' : x.format },
          { field: 'value', type: 'quantitative', title: y.title, format: '.3f' },
        ],
      },
    },
  } as TopLevelSpec;
}

function rowsOf(entries: Entry[], labels: Labels, points: (e: Entry) => CurvePoint[]): Datum[] {
  return entries.flatMap((e) => {
    const series = labels.full(e);
    const group = labels.without(e, ['model', 'seed']);
    return points(e).map((p) => ({ model: e.model, group, series, stage: p.stage, step: p.step, tokens: p.tokens, seconds: p.seconds, value: p.value }));
  });
}

export function curveCharts(entries: Entry[], data: SweepData, labels: Labels): ChartSpec[] {
  const valid = rowsOf(entries, labels, (e) => validPoints(e, data));
  const loss = rowsOf(entries, labels, (e) => lossPoints(e, data));
  const ppl = { title: 'validation perplexity', log: true, pointSize: 28 };
  const out: ChartSpec[] = [];
  const add = (id: ChartSpec['kind'], values: Datum[], x: Axis, y: typeof ppl, title: string): void => {
    if (values.length) out.push({ id, kind: id, title, points: values.length, spec: panelSpec(values, x, y, title) });
  };
  add('valid-vs-step', valid, STEP, ppl, 'Validation perplexity vs optimizer step, per model');
  add('valid-vs-tokens', valid.filter((d) => d.tokens !== null), TOKENS, ppl, 'Validation perplexity vs tokens seen, per model');
  add('valid-vs-time', valid.filter((d) => d.seconds !== null), SECONDS, ppl, 'Validation perplexity vs training wall-clock, per model');
  add('train-loss', loss, STEP, { title: 'training loss', log: false, pointSize: 6 }, 'Training loss vs optimizer step, per model');
  return out;
}
