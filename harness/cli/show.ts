// npm run show <run> [-- options]: one run in full: what it was, how it ended, its config,
// its metrics over steps, its rank history and checkpoints, its error.
import { UserError } from '../contract/errors.ts';
import { dbPath, openExistingStore, parseCliArgs, runCli } from './common.ts';
import { describeRun } from './describe-run.ts';

const USAGE = `usage: npm run show <run> [-- options]

Prints one stored run: status, device, timings, parameter counts, final metrics, its config,
metrics over steps, rank history (InRank), checkpoints and its error. <run> is a run id,
a run name, a unique prefix of either, or a unique part of a name (npm run runs lists them).

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
    process.stdout.write(describeRun(store, store.findRun(positionals[0]!), steps));
    return 0;
  } finally {
    store.close();
  }
}

runCli(main);
