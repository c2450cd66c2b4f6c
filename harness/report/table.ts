// The paper's comparison table: one block per profile, one row per model x method x precision
// (x any other axis the sweep varied), seeds folded into mean +- std. Every cell is either a
// measured figure or words saying why there is none; nothing is invented.
import type { AxisValue, SweepData } from '../store/sweep-read.ts';
import { buildEntries, type Entry } from './entries.ts';
import type { PaperCell, PaperLookup } from './paper.ts';
import type { RunConfig } from '../contract/config.ts';
import { configValue } from '../contract/stored-config.ts';
import { paperCaption, paperRanCell, tokensSeen } from './paper-cell.ts';
import type { SweepRow } from '../store/rows.ts';
import type { ProvenanceView } from '../store/provenance.ts';

/** A measured figure over seeds, or the reason it is missing. */
export type Figure =
  | { kind: 'value'; mean: number; std: number | null; n: number; of: number; note: string | null }
  | { kind: 'missing'; note: string };

export interface ComparisonRow {
  profile: string;
  model: string;
  method: string;
  precision: string;
  /** The other axes the sweep varied, for this row. */
  axes: Record<string, AxisValue>;
  seeds: number[];
  runIds: string[];
  testPpl: Figure;
  paper: PaperCell | null;
  params: Figure;
  smaller: Figure;
  faster: Figure;
  flopSpeedup: Figure;
  rankPct: Figure;
  steps: Figure;
  /** Measured status (per seed where they differ), with the paper's "diverges" beside it where the paper says so. */
  status: string;
}

export interface ComparisonBlock {
  profile: string;
  /** Extra axis names shown as columns in this block. */
  axisNames: string[];
  rows: ComparisonRow[];
  /** What the paper's numbers in this block mean beside ours (null when the block shows none). */
  paperCaption: string | null;
}

export interface SweepInfo {
  id: number;
  spec: string;
  profile: string;
  createdAt: string;
  status: string;
  /** The note given with --note. */
  note: string | null;
}

export interface ComparisonTable {
  /** The first sweep of the report. */
  sweep: SweepInfo;
  /** Every sweep of the report (several with a repeated --sweep). */
  sweeps: SweepInfo[];
  blocks: ComparisonBlock[];
  /** Per run id of the report: what produced it (issue 18); null for a run stored before it was kept. */
  provenance?: Record<string, ProvenanceView | null>;
}

const sweepInfo = (s: SweepRow): SweepInfo => ({
  id: s.id, spec: s.spec, profile: s.profile, createdAt: s.created_at, status: s.status, note: s.note ?? null,
});

/** A scalar setting at a dot path of a run's config (an axis column's value), else undefined. */
function scalarAt(config: RunConfig | undefined, path: string): AxisValue | undefined {
  const v = configValue(config, path);
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : undefined;
}

type PerSeed = { value: number } | { note: string };

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1), null for one value. */
function std(xs: number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export function fold(perSeed: PerSeed[]): Figure {
  const values = perSeed.flatMap((p) => ('value' in p ? [p.value] : []));
  const notes = [...new Set(perSeed.flatMap((p) => ('note' in p ? [p.note] : [])))];
  if (values.length === 0) return { kind: 'missing', note: notes.join('; ') || 'no data' };
  return {
    kind: 'value',
    mean: mean(values),
    std: std(values),
    n: values.length,
    of: perSeed.length,
    note: notes.length ? notes.join('; ') : null,
  };
}

/** Short words for an entry that has no result (the full reason stays in the status column). */
function missingNote(e: Entry): string {
  if (e.state === 'done') return e.status;
  return e.state;
}

/** The full-rank run a row is compared with: same profile, model, precision and seed; no conflicting axis. */
function findBaseline(e: Entry, fulls: Entry[]): Entry | null {
  let best: Entry | null = null;
  let bestScore = -1;
  for (const b of fulls) {
    if (b.profile !== e.profile || b.model !== e.model || b.precision !== e.precision || b.seed !== e.seed) continue;
    let score = 0;
    let conflict = false;
    for (const [k, v] of Object.entries(b.axes)) {
      if (!(k in e.axes)) continue;
      if (e.axes[k] === v) score++;
      else conflict = true;
    }
    if (!conflict && score > bestScore) {
      best = b;
      bestScore = score;
    }
  }
  return best;
}

function baselineProblem(b: Entry | null): string | null {
  if (b === null) return 'no baseline';
  if (b.state === 'done' && b.done) return null;
  return b.state === 'done' ? 'baseline incomplete' : `baseline ${b.state}`;
}

/** A ratio baseline / this. Params and FLOPs are known from shapes even for a baseline that did not finish. */
function ratio(e: Entry, b: Entry | null, pick: 'params' | 'flops' | 'time'): PerSeed {
  if (!e.done) return { note: missingNote(e) };
  const mine = pick === 'params' ? e.done.params : pick === 'flops' ? e.done.flopsPerToken : e.done.trainMs;
  if (b === null) return { note: 'no baseline' };
  let theirs: number | null;
  if (pick === 'time') {
    const problem = baselineProblem(b);
    if (problem) return { note: problem };
    theirs = b.done!.trainMs;
  } else {
    theirs = pick === 'params' ? b.done?.params ?? b.paramsTotal : b.done?.flopsPerToken ?? b.flopsPerToken;
    if (theirs === null) return { note: baselineProblem(b) ?? 'baseline has no figure' };
  }
  if (mine === null || mine <= 0 || theirs === null) return { note: 'not recorded' };
  return { value: theirs / mine };
}

function pick(e: Entry, value: (d: NonNullable<Entry['done']>) => number | null, absent: string): PerSeed {
  if (!e.done) return { note: missingNote(e) };
  const v = value(e.done);
  return v === null ? { note: absent } : { value: v };
}

function statusText(entries: Entry[], paper: PaperCell | null): string {
  const distinct = [...new Set(entries.map((e) => e.status))];
  let text =
    distinct.length === 1 ? distinct[0]! : entries.map((e) => `s${e.seed}: ${e.status}`).join('; ');
  if (paper?.ppl === 'diverges') text += ' (paper: diverges)';
  return text;
}

/** One row of the table: a group of entries that differ only by seed, folded over the seeds. */
function comparisonRow(group: Entry[], fulls: Entry[], paperLookup: PaperLookup): ComparisonRow {
  const first = group[0]!;
  const baselines = group.map((e) => findBaseline(e, fulls));
  const firstRun = first.final ?? first.stage1;
  // A row that changes a setting the paper kept (an ablation's buffer, warmup, lag) is no paper cell.
  const paper = firstRun && !paperRanCell(first.profile, first.axes, firstRun.config)
    ? null
    : paperLookup({ model: first.model, method: first.method, precision: first.precision, explainedRatio: first.explainedRatio });
  return {
    profile: first.profile,
    model: first.model,
    method: first.method,
    precision: first.precision,
    axes: first.axes,
    seeds: group.map((e) => e.seed),
    runIds: group.flatMap((e) => [e.stage1?.row.id, e.final?.row.id].filter((x): x is string => typeof x === 'string')),
    testPpl: fold(group.map((e) => pick(e, (d) => d.testPpl, 'no test eval'))),
    paper,
    params: fold(group.map((e) => pick(e, (d) => d.params, 'not recorded'))),
    smaller: fold(group.map((e, i) => ratio(e, baselines[i]!, 'params'))),
    faster: fold(group.map((e, i) => ratio(e, baselines[i]!, 'time'))),
    flopSpeedup: fold(group.map((e, i) => ratio(e, baselines[i]!, 'flops'))),
    rankPct: fold(group.map((e) => (e.method === 'full' ? { note: 'full' } : pick(e, (d) => d.rankPct, 'not recorded')))),
    steps: fold(group.map((e) => pick(e, (d) => d.steps, 'not recorded'))),
    status: statusText(group, paper),
  };
}

/**
 * Only axes that actually take more than one value in a block are worth a column. An axis
 * that only some rows have (an `include` rule's setting, e.g. explained ratio 0.8) varies too:
 * the other InRank rows show the value their config resolved to, other methods none.
 */
function settleAxisColumns(block: ComparisonBlock, configOf: Map<ComparisonRow, RunConfig>): void {
  const values = new Map<string, Set<string>>();
  for (const r of block.rows) {
    for (const [k, v] of Object.entries(r.axes)) {
      if (!values.has(k)) values.set(k, new Set());
      values.get(k)!.add(JSON.stringify(v));
    }
  }
  for (const [k, vs] of values) if (block.rows.some((r) => !(k in r.axes))) vs.add('absent');
  block.axisNames = [...values.entries()]
    .filter(([, vs]) => vs.size > 1)
    .map(([k]) => k)
    .sort();
  for (const r of block.rows) {
    if (r.method !== 'inrank') continue;
    for (const k of block.axisNames) {
      if (k in r.axes) continue;
      const v = scalarAt(configOf.get(r), k);
      if (v !== undefined) r.axes = { ...r.axes, [k]: v };
    }
    // A run reused from a sweep that did not vary a setting is still at that setting's value here.
    const config = configOf.get(r);
    if (r.paper && config && !paperRanCell(r.profile, r.axes, config)) r.paper = null;
  }
}

/** Builds the comparison table of a sweep (or several read as one); paper numbers come from the lookup (experiments/ data). */
export function buildComparison(data: SweepData, paperLookup: PaperLookup): ComparisonTable {
  const entries = buildEntries(data);
  const fulls = entries.filter((e) => e.method === 'full' && (e.final?.row.stage ?? 'single') === 'single');
  const groups = new Map<string, Entry[]>();
  for (const e of entries) groups.set(e.key, [...(groups.get(e.key) ?? []), e]);

  const blocks = new Map<string, ComparisonBlock>();
  const configOf = new Map<ComparisonRow, RunConfig>();
  for (const group of groups.values()) {
    const row = comparisonRow(group, fulls, paperLookup);
    let block = blocks.get(row.profile);
    if (!block) {
      block = { profile: row.profile, axisNames: [], rows: [], paperCaption: null };
      blocks.set(row.profile, block);
    }
    block.rows.push(row);
    const run = group[0]!.final ?? group[0]!.stage1;
    if (run) configOf.set(row, run.config);
  }
  for (const block of blocks.values()) {
    block.paperCaption = captionOf(block, configOf);
    settleAxisColumns(block, configOf);
  }
  return { sweep: sweepInfo(data.sweep), sweeps: data.sweeps.map(sweepInfo), blocks: [...blocks.values()] };
}

/** The block's corpora and tokens seen per finished run, for the caption of its paper numbers. */
function captionOf(block: ComparisonBlock, configOf: Map<ComparisonRow, RunConfig>): string | null {
  if (!block.rows.some((r) => r.paper !== null)) return null;
  const corpora = new Set<string>();
  const tokens = new Set<number>();
  for (const r of block.rows) {
    const config = configOf.get(r);
    if (!config) continue;
    corpora.add(config.data.corpus);
    const t = r.steps.kind === 'value' ? tokensSeen(config, Math.round(r.steps.mean)) : null;
    if (t !== null) tokens.add(t);
  }
  return paperCaption(block.profile, [...corpora], [...tokens]);
}
