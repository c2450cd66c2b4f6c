// npm run show <run> [-- options]: one run in full: what it was, how it ended, its config,
// its metrics over steps, its rank history and checkpoints, its error.
import { UserError } from '../contract/errors.ts';
import { dbPath, openExistingStore, parseCliArgs, runCli } from './common.ts';
import { describeRun } from './describe-run.ts';
import { describeSearch } from './describe-search.ts';
import { findSearch } from '../store/search-store.ts';

const USAGE = `usage: npm run show <run> [-- options]
       npm run show <sweep> [-- options]     (a search: its trials ranked)

Prints one stored run: status, device, timings, parameter counts, final metrics, its config,
metrics over steps, rank history (InRank), checkpoints and its error. <run> is a run id,
a run name, a unique prefix of either, or a unique part of a name (npm run runs lists them).
For a search, <sweep> is its spec name or a sweep id: the trials ranked by the metric, pruned
ones apart, with ASHA's decisions.

  --db FILE     results database (default results/inrank.db)
  --steps N     train-loss rows to show, evenly spread (default 10)
  -h, --help    this text`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(
    argv,
    { db: { type: 'string' }, steps: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const,
    'npm run show -- --help',
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UserError('give one run: npm run show <run id, name or unique prefix>');
  const steps = values.steps === undefined ? 10 : Number(values.steps);
  if (!Number.isInteger(steps) || steps < 1) throw new UserError(`--steps ${values.steps}: give a whole number of at least 1`);
  const store = openExistingStore(dbPath(values.db));
  try {
    const search = findSearch(store, positionals[0]!);
    process.stdout.write(search ? describeSearch(store, search) : describeRun(store, store.findRun(positionals[0]!), steps));
    return 0;
  } finally {
    store.close();
  }
}

runCli(main);
