// `npm run sweep <spec>` for a spec with a search block: the flags that steer a search, its
// --dry-run view, and running it to the ranked result.
import { UserError } from '../contract/errors.ts';
import type { Executor, Slot } from '../schedule/executor.ts';
import type { ProgressSink } from '../schedule/progress-sink.ts';
import { runSearch } from '../search/run-search.ts';
import type { SearchPlan } from '../search/plan-search.ts';
import { describeDistribution, SEARCH_STRATEGIES, type SearchOverrides, type SearchStrategy } from '../spec/search-space.ts';
import { formatPlanTable } from '../spec/table.ts';
import { listSearches } from '../store/search-store.ts';
import type { Store } from '../store/store.ts';
import { describeSearch } from './describe-search.ts';
import { formatCount } from './common.ts';

export const SEARCH_OPTIONS = {
  search: { type: 'string' },
  'early-stop': { type: 'string' },
  trials: { type: 'string' },
} as const;

export const SEARCH_USAGE = `  --search random|tpe   run the spec's search with this strategy (default: the spec's, tpe)
  --early-stop asha|none  stop losing trials at ASHA's rungs (pruned), or not
  --trials N            the search's budget of trials (more than before extends the search)`;

/** The search flags as given; each mistake is one line. */
export function searchFlags(values: { search?: string; 'early-stop'?: string; trials?: string }, maxParallel?: number): SearchOverrides {
  const out: SearchOverrides = {};
  if (values.search !== undefined) {
    if (!(SEARCH_STRATEGIES as readonly string[]).includes(values.search)) throw new UserError(`--search ${values.search}: use random or tpe`);
    out.strategy = values.search as SearchStrategy;
  }
  if (values['early-stop'] !== undefined) {
    if (values['early-stop'] !== 'asha' && values['early-stop'] !== 'none') throw new UserError(`--early-stop ${values['early-stop']}: use asha or none`);
    out.earlyStop = values['early-stop'];
  }
  if (values.trials !== undefined) {
    const n = Number(values.trials);
    if (!Number.isInteger(n) || n < 1) throw new UserError(`--trials ${values.trials}: give a whole number of at least 1`);
    out.trials = n;
  }
  if (maxParallel !== undefined) out.maxParallel = maxParallel;
  return out;
}

export function searchDryRun(plan: SearchPlan): string {
  const s = plan.search;
  const lines = [
    `search: ${s.strategy} over ${Object.keys(s.space).length} setting(s), ${s.trials} trials, ${s.maxParallel} at a time, seed ${s.seed}; metric ${s.metric.value} (${s.metric.direction})`,
    ...Object.entries(s.space).map(([k, d]) => `  ${k}: ${describeDistribution(d)}`),
  ];
  const last = plan.probe[plan.probe.length - 1]!.config;
  const tps = last.train.globalBatch * last.model.context;
  if (plan.asha) {
    const rungs = plan.rungs.map((t) => `${t.toLocaleString('en-US')} (step ${Math.ceil(t / tps)})`).join(', ');
    lines.push(`early stopping: ASHA, rungs at ${rungs} tokens, the top 1/${plan.asha.reductionFactor} continue; validation every ${plan.evalEvery} steps`);
  } else lines.push('early stopping: none (--early-stop asha turns it on)');
  const budget = (last.train.maxSteps ?? 0) * tps;
  lines.push(`each trial (at the profile's values of the searched settings):`, formatPlanTable(plan.probe));
  if (budget) lines.push(`budget: at most ${s.trials} trials x ${formatCount(budget)} tokens = ${formatCount(s.trials * budget)} tokens`);
  return lines.join('\n');
}

export interface SearchCommand {
  store: Store;
  spec: string;
  profile: string;
  plan: SearchPlan;
  executor: Executor;
  slots: Slot[];
  retries: number;
  timeoutMs: number | null;
  signal: AbortSignal;
  progress: ProgressSink;
  args: unknown;
  note: string | null;
  say: (line: string) => void;
}

export async function runSearchCommand(c: SearchCommand): Promise<number> {
  const t = performance.now();
  const s = c.plan.search;
  c.say(`search: ${s.strategy}, ${s.trials} trials, ${s.maxParallel} at a time, seed ${s.seed}${c.plan.asha ? ', ASHA early stopping' : ''}`);
  const summary = await runSearch({
    store: c.store, spec: c.spec, profile: c.profile, key: c.plan.key, search: s, asha: c.plan.asha, expand: c.plan.expand,
    executor: c.executor, slots: c.slots, retries: c.retries, timeoutMs: c.timeoutMs, signal: c.signal, progress: c.progress,
    args: c.args, note: c.note, log: c.say,
  });
  c.say(`sweep ${summary.sweepId} ${summary.interrupted ? 'interrupted (rerun the same command to resume the search)' : 'finished'} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const row = listSearches(c.store).find((r) => r.id === summary.searchId);
  if (row) c.say(describeSearch(c.store, row).trimEnd());
  return summary.exitCode;
}
