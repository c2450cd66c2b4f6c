// One "entry" per trained configuration and seed: a single run, or an InRank pipeline
// (stage 1 + stage 2) read as one. Entries carry what the table and the plots need:
// whether the entry finished, its time, steps, parameters, FLOPs per token and ranks.
import type { AxisValue, ReportRun, SweepData } from '../store/sweep-read.ts';
import { stageOneFlopsPerToken } from './flops.ts';

/** Axis keys that are rows' own columns (or not comparison axes at all): never shown as extra axes. */
const OWN_AXES = new Set([
  'model', 'model.name', 'method', 'precision', 'precision.kind', 'stage', 'stage.kind', 'seed', 'train.seed',
]);

export type EntryState = 'done' | 'diverged' | 'failed' | 'skipped' | 'interrupted' | 'running' | 'pending' | 'pruned';

export interface Entry {
  /** Same key = same table row (all but the seed). */
  key: string;
  profile: string;
  model: string;
  method: string;
  precision: string;
  seed: number;
  /** Axis values besides model / method / precision / stage / seed. */
  axes: Record<string, AxisValue>;
  /** The run the metrics come from (single, or stage 2), or null when stage 2 is not in the sweep. */
  final: ReportRun | null;
  stage1: ReportRun | null;
  state: EntryState;
  /** The state in words, with why when it is not done (e.g. "skipped: stage 1 failed"). */
  status: string;
  /** Figures, present only when the entry is done. */
  done: DoneFigures | null;
  /** Explained-ratio threshold of an InRank entry (for the paper's cells), else null. */
  explainedRatio: number | null;
  /** Analytic figures known from shapes even before the run ends (baselines need them). */
  paramsTotal: number | null;
  flopsPerToken: number | null;
}

export interface DoneFigures {
  testPpl: number | null;
  /** Training time: stage 1 + stage 2 for InRank. */
  trainMs: number | null;
  steps: number | null;
  params: number | null;
  /** Per-token training FLOPs; for InRank the steps-weighted mix of both stages. */
  flopsPerToken: number | null;
  /** Mean over layers of final rank / max rank, in percent; null for full-rank runs. */
  rankPct: number | null;
}

function runState(run: ReportRun): EntryState {
  return run.row.status;
}

function withReason(run: ReportRun, prefix = ''): string {
  const reason = run.row.reason ? `: ${run.row.reason}` : '';
  return `${prefix}${run.row.status}${reason}`;
}

function meanRankPct(ranks: Record<string, number> | null, maxRanks: Record<string, number> | null): number | null {
  if (!ranks || !maxRanks) return null;
  const pcts = Object.entries(ranks)
    .filter(([layer]) => (maxRanks[layer] ?? 0) > 0)
    .map(([layer, r]) => (100 * r) / maxRanks[layer]!);
  return pcts.length ? pcts.reduce((a, b) => a + b, 0) / pcts.length : null;
}

/**
 * Stage 2 continues stage 1's step count and may or may not continue its training clock.
 * Its own share is what it added: a counter that starts past stage 1's end is a continued one.
 */
export function stageTwoOwn(s1: ReportRun, s2: ReportRun, data: SweepData): { steps: number | null; trainMs: number | null } {
  const first = data.train.get(s2.row.id)?.[0];
  const s1Steps = s1.row.steps ?? 0;
  const s1Ms = s1.row.train_ms ?? 0;
  // Without a recorded step, stage 2 trained (almost) nothing: a counter at or past stage 1's end was continued.
  const stepsContinued = s1Steps > 0 && (first ? first.step > s1Steps : (s2.row.steps ?? 0) >= s1Steps);
  const msContinued = s1Ms > 0 && (first ? first.trainMs > s1Ms : (s2.row.train_ms ?? 0) >= s1Ms);
  return {
    steps: s2.row.steps === null ? null : s2.row.steps - (stepsContinued ? s1Steps : 0),
    trainMs: s2.row.train_ms === null ? null : s2.row.train_ms - (msContinued ? s1Ms : 0),
  };
}

function singleFigures(run: ReportRun): DoneFigures {
  const r = run.row;
  return {
    testPpl: r.test_ppl,
    trainMs: r.train_ms,
    steps: r.steps,
    params: r.params_total,
    flopsPerToken: r.flops_per_token,
    rankPct: r.method === 'full' ? null : meanRankPct(run.ranks, run.maxRanks),
  };
}

function pipelineFigures(s1: ReportRun, s2: ReportRun, data: SweepData): DoneFigures {
  const own = stageTwoOwn(s1, s2, data);
  const s1Steps = s1.row.steps;
  const steps = s1Steps !== null && own.steps !== null ? s1Steps + own.steps : null;
  const f1 = stageOneFlopsPerToken(s1, s2, data.rankEvents.get(s1.row.id) ?? []);
  const f2 = s2.row.flops_per_token;
  let flops: number | null = null;
  if (f1 !== null && f2 !== null && s1Steps !== null && own.steps !== null && s1Steps + own.steps > 0) {
    flops = (f1 * s1Steps + f2 * own.steps) / (s1Steps + own.steps);
  }
  return {
    testPpl: s2.row.test_ppl,
    trainMs: s1.row.train_ms !== null && own.trainMs !== null ? s1.row.train_ms + own.trainMs : null,
    steps,
    params: s2.row.params_total,
    flopsPerToken: flops,
    // Stage 2's max rank is its fixed (pruned) rank; the cap that counts is stage 1's.
    rankPct: meanRankPct(s2.ranks ?? s1.ranks, s1.maxRanks),
  };
}

/** Why an InRank pipeline has no result yet, in words. */
function pipelineStatus(s1: ReportRun, s2: ReportRun | null): { state: EntryState; status: string } {
  if (s2 === null) {
    return s1.row.status === 'done'
      ? { state: 'skipped', status: 'stage 2 not in this sweep' }
      : { state: runState(s1), status: withReason(s1, 'stage 1 ') };
  }
  const st = s2.row.status;
  if (st === 'done') return { state: 'done', status: 'done' };
  if (st === 'pending' && s1.row.status !== 'done') {
    return { state: s1.row.status === 'running' ? 'running' : runState(s1), status: withReason(s1, 'stage 1 ') };
  }
  if (st === 'skipped' && !s2.row.reason && s1.row.status !== 'done') {
    return { state: 'skipped', status: `stage 2 skipped: stage 1 ${s1.row.status}${s1.row.reason ? ` (${s1.row.reason})` : ''}` };
  }
  return { state: runState(s2), status: withReason(s2, 'stage 2 ') };
}

/** Pairs stage 1 with stage 2 and turns every run (or pipeline) of the sweep into an entry. */
export function buildEntries(data: SweepData): Entry[] {
  const byId = new Map(data.runs.map((r) => [r.row.id, r]));
  const stage2Of = new Map<string, ReportRun>();
  for (const run of data.runs) {
    if (run.row.stage === 'stage2' && run.row.depends_on) stage2Of.set(run.row.depends_on, run);
  }
  const entries: Entry[] = [];
  for (const run of data.runs) {
    const stage = run.row.stage;
    if (stage === 'stage1') entries.push(pipelineEntry(run, stage2Of.get(run.row.id) ?? null, data));
    // A stage 2 is listed with its stage 1; one whose stage 1 is not in the sweep stands alone.
    else if (stage !== 'stage2' || !run.row.depends_on || !byId.has(run.row.depends_on)) entries.push(singleEntry(run));
  }
  return entries;
}

/** What every entry says about its run: the cell (model, method, precision, other axes) and its key. */
function entryBase(run: ReportRun, s1: ReportRun | null, final: ReportRun | null) {
  const axes: Record<string, AxisValue> = {};
  for (const [k, v] of Object.entries(run.axes)) if (!OWN_AXES.has(k)) axes[k] = v;
  const r = run.row;
  return {
    profile: r.profile,
    model: r.model,
    method: r.method,
    precision: r.precision,
    seed: r.seed,
    axes,
    key: JSON.stringify([r.profile, r.model, r.method, r.precision, Object.entries(axes).sort(([a], [b]) => a.localeCompare(b))]),
    explainedRatio: r.method === 'inrank' ? run.config.inrank.explainedRatio : null,
    stage1: s1,
    final,
  };
}

/** InRank's two stages as one entry. */
function pipelineEntry(s1: ReportRun, final: ReportRun | null, data: SweepData): Entry {
  const { state, status } = pipelineStatus(s1, final);
  return {
    ...entryBase(s1, s1, final),
    state,
    status,
    done: state === 'done' && final ? pipelineFigures(s1, final, data) : null,
    paramsTotal: final?.row.params_total ?? final?.row.params_total_start ?? null,
    flopsPerToken: final?.row.flops_per_token ?? final?.row.flops_per_token_start ?? null,
  };
}

/** A single-stage run, or a stage 2 whose stage 1 is not in the sweep. */
function singleEntry(run: ReportRun): Entry {
  const r = run.row;
  const state = runState(run);
  const orphan = r.stage === 'stage2';
  const status = orphan ? `${withReason(run)} (stage 1 not in this sweep)` : state === 'done' ? 'done' : withReason(run);
  return {
    ...entryBase(run, null, run),
    state,
    status,
    done: state === 'done' && !orphan ? singleFigures(run) : null,
    paramsTotal: r.params_total ?? r.params_total_start,
    flopsPerToken: r.flops_per_token ?? r.flops_per_token_start,
  };
}
