// A search against the equivalent grid, from their results databases: the best metric each
// found, the runs each trained and the tokens each spent, and the ratios.
//   npx tsx scripts/search-vs-grid.ts --search-db S.db --grid-db G.db [--spec NAME] [--grid-sweep ID]
import { UserError } from '../harness/contract/errors.ts';
import type { RunConfig } from '../harness/contract/config.ts';
import { openExistingStore, parseCliArgs, runCli } from '../harness/cli/common.ts';
import { summaryLine } from '../harness/cli/describe-search.ts';
import type { ResolvedSearch } from '../harness/spec/search-space.ts';
import type { RunRow } from '../harness/store/rows.ts';
import { findSearch, listSearches, searchTrials } from '../harness/store/search-store.ts';
import type { Store } from '../harness/store/store.ts';

interface Side {
  best: number | null;
  bestWhat: string;
  runs: number;
  tokens: number;
  trainHours: number;
}

const tokensOf = (r: RunRow): number => {
  const c = JSON.parse(r.config) as RunConfig;
  return (r.steps ?? 0) * c.train.globalBatch * c.model.context;
};

/** Tokens a set of runs trained: each chain's furthest step (a stage 2 counts on from its stage 1). */
function chainTokens(runs: readonly RunRow[]): number {
  const dependents = new Set(runs.map((r) => r.depends_on).filter(Boolean));
  return runs.filter((r) => !dependents.has(r.id)).reduce((s, r) => s + Math.max(tokensOf(r), ...runs.filter((d) => d.id === r.depends_on).map(tokensOf)), 0);
}

function searchSide(store: Store, spec: string | undefined): Side & { line: string } {
  const search = spec ? findSearch(store, spec) : listSearches(store).at(-1);
  if (!search) throw new UserError(`no search${spec ? ` of spec ${spec}` : ''} in the search database`);
  const settings = JSON.parse(search.settings) as ResolvedSearch;
  const trials = searchTrials(store, search.id);
  const ids = new Set(trials.flatMap((t) => JSON.parse(t.run_ids) as string[]));
  const runs = [...ids].map((id) => store.getRun(id)!).filter((r) => r.steps !== null);
  const scored = trials.filter((t) => t.value !== null).map((t) => t.value!);
  const best = scored.length ? (settings.metric.direction === 'maximize' ? Math.max(...scored) : Math.min(...scored)) : null;
  return {
    best, bestWhat: settings.metric.value, runs: runs.length, tokens: chainTokens(runs),
    trainHours: runs.reduce((s, r) => s + (r.wall_ms ?? 0), 0) / 3.6e6, line: summaryLine(trials, settings),
  };
}

function gridSide(store: Store, sweepId: number | undefined): Side {
  const sweep = sweepId === undefined ? store.latestSweep() : store.getSweep(sweepId);
  if (!sweep) throw new UserError('no grid sweep in the grid database');
  const runs = store.sweepRuns(sweep.id).filter((r) => r.steps !== null);
  const dependents = new Set(runs.map((r) => r.depends_on).filter(Boolean));
  const finals = runs.filter((r) => !dependents.has(r.id) && r.test_ppl !== null).map((r) => r.test_ppl!);
  return {
    best: finals.length ? Math.min(...finals) : null, bestWhat: 'test_ppl', runs: runs.length, tokens: chainTokens(runs),
    trainHours: runs.reduce((s, r) => s + (r.wall_ms ?? 0), 0) / 3.6e6,
  };
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseCliArgs(argv, {
    'search-db': { type: 'string' }, 'grid-db': { type: 'string' }, spec: { type: 'string' }, 'grid-sweep': { type: 'string' },
  } as const, 'scripts/search-vs-grid.ts');
  if (!values['search-db']) throw new UserError('give --search-db FILE (and --grid-db FILE to compare with a grid)');
  const s = openExistingStore(values['search-db']);
  const fmt = (x: Side) => `best ${x.bestWhat} ${x.best?.toFixed(2) ?? '-'}, ${x.runs} runs trained, ${(x.tokens / 1e3).toFixed(1)}K tokens, ${(x.trainHours * 60).toFixed(1)} run-minutes`;
  const search = searchSide(s, values.spec);
  process.stdout.write(`search: ${fmt(search)}\n  ${search.line}\n`);
  if (!values['grid-db']) return (s.close(), 0);
  const g = openExistingStore(values['grid-db']);
  try {
    const grid = gridSide(g, values['grid-sweep'] === undefined ? undefined : Number(values['grid-sweep']));
    process.stdout.write(`grid:   ${fmt(grid)}\n`);
    const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(3)}x` : '-');
    process.stdout.write(`search / grid: runs ${ratio(search.runs, grid.runs)}, tokens ${ratio(search.tokens, grid.tokens)}, run-minutes ${ratio(search.trainHours, grid.trainHours)}`);
    process.stdout.write(search.best !== null && grid.best !== null ? `, best ${search.bestWhat} ${ratio(search.best, grid.best)}\n` : '\n');
    return 0;
  } finally {
    s.close();
    g.close();
  }
}

runCli(main);
