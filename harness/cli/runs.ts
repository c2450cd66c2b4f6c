// npm run runs [-- options]: the stored runs as a table.
import type { RunFilter, StoredRunStatus, SweepRow } from '../store/rows.ts';
import { UserError } from '../contract/errors.ts';
import { FORMATS, type Format } from '../report/format.ts';
import { dbPath, openExistingStore, parseCliArgs, runCli } from './common.ts';
import { renderRuns, sweepLines } from './runs-table.ts';

const USAGE = `usage: npm run runs [-- options]

Lists the runs in the results database.

  --sweep N|latest   only the runs of sweep N (or of the latest sweep)
  --status S[,S]     only runs with these statuses: pending, running, done, diverged,
                     failed, skipped, interrupted
  --format F         terminal | md | csv | json (default terminal; fits the terminal's width)
  --db FILE          results database (default results/inrank.db)
  -h, --help         this text`;

const STATUSES: readonly StoredRunStatus[] = ['pending', 'running', 'done', 'diverged', 'failed', 'skipped', 'interrupted'];

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(
    argv,
    {
      sweep: { type: 'string' }, status: { type: 'string' }, format: { type: 'string' }, db: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    } as const,
    'npm run runs -- --help',
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UserError(`unexpected argument '${positionals[0]}'; see npm run runs -- --help`);
  const format = (values.format ?? 'terminal') as Format;
  if (!FORMATS.includes(format)) throw new UserError(`--format ${values.format}: use one of ${FORMATS.join(', ')}`);
  const filter: RunFilter = {};
  if (values.status) {
    const list = values.status.split(',').map((s) => s.trim());
    const bad = list.find((s) => !STATUSES.includes(s as StoredRunStatus));
    if (bad) throw new UserError(`--status ${bad}: not a run status; use ${STATUSES.join(', ')}`);
    filter.status = list as StoredRunStatus[];
  }
  const store = openExistingStore(dbPath(values.db));
  try {
    let sweep: SweepRow | null = null;
    if (values.sweep) {
      sweep = (values.sweep === 'latest' ? store.latestSweep() : store.getSweep(Number(values.sweep))) ?? null;
      if (!sweep) throw new UserError(`--sweep ${values.sweep}: no such sweep (${store.listSweeps().length} stored; latest: ${store.latestSweep()?.id ?? 'none'})`);
      filter.sweepId = sweep.id;
    }
    const runs = store.listRuns(filter);
    const tools = format === 'csv' || format === 'json';
    // Headings and counts are for people: csv and json stay pure data.
    if (!tools) for (const line of sweepLines(sweep, store.listSweeps())) process.stdout.write(`${line}\n`);
    process.stdout.write(renderRuns(runs, format, format === 'terminal' && process.stdout.isTTY ? process.stdout.columns ?? null : null));
    if (!tools) {
      const counts = Object.entries(store.statusCountsOf(runs)).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ');
      process.stdout.write(`${runs.length} run(s)${counts ? `: ${counts}` : ''}\n`);
    }
    return 0;
  } finally {
    store.close();
  }
}

runCli(main);
