// npm run runs [-- options]: the stored runs as a table.
import Table from 'cli-table3';
import type { RunFilter, StoredRunStatus } from '../store/rows.ts';
import { UserError } from '../contract/errors.ts';
import { dbPath, formatCount, formatDuration, formatNumber, openExistingStore, parseCliArgs, runCli } from './common.ts';

const USAGE = `usage: npm run runs [-- options]

Lists the runs in the results database.

  --sweep N|latest   only the runs of sweep N (or of the latest sweep)
  --status S[,S]     only runs with these statuses: pending, running, done, diverged,
                     failed, skipped, interrupted
  --db FILE          results database (default results/inrank.db)
  -h, --help         this text`;

const STATUSES: readonly StoredRunStatus[] = ['pending', 'running', 'done', 'diverged', 'failed', 'skipped', 'interrupted'];

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(
    argv,
    { sweep: { type: 'string' }, status: { type: 'string' }, db: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const,
    'npm run runs -- --help',
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UserError(`unexpected argument '${positionals[0]}'; see npm run runs -- --help`);
  const filter: RunFilter = {};
  if (values.status) {
    const list = values.status.split(',').map((s) => s.trim());
    const bad = list.find((s) => !STATUSES.includes(s as StoredRunStatus));
    if (bad) throw new UserError(`--status ${bad}: not a run status; use ${STATUSES.join(', ')}`);
    filter.status = list as StoredRunStatus[];
  }
  const store = openExistingStore(dbPath(values.db));
  try {
    if (values.sweep) {
      const sweep = values.sweep === 'latest' ? store.latestSweep() : store.getSweep(Number(values.sweep));
      if (!sweep) throw new UserError(`--sweep ${values.sweep}: no such sweep (${store.listSweeps().length} stored; latest: ${store.latestSweep()?.id ?? 'none'})`);
      filter.sweepId = sweep.id;
      process.stdout.write(`sweep ${sweep.id}: ${sweep.spec} (profile ${sweep.profile}), ${sweep.status}, started ${sweep.created_at}\n`);
    }
    const runs = store.listRuns(filter);
    const table = new Table({
      head: ['id', 'name', 'status', 'device', 'tries', 'steps', 'train loss', 'valid ppl', 'params', 'train time', 'reason'],
      style: { head: [], border: [], compact: true },
    });
    for (const r of runs) {
      table.push([
        r.id.slice(0, 10), r.name, r.status, r.device ?? '-', String(r.attempts),
        `${r.steps ?? '-'}/${r.max_steps ?? '-'}`, formatNumber(r.train_loss), formatNumber(r.valid_ppl),
        formatCount(r.params_total ?? r.params_total_start), formatDuration(r.train_ms),
        (r.reason ?? '').length > 60 ? `${r.reason!.slice(0, 59)}…` : (r.reason ?? ''),
      ]);
    }
    process.stdout.write(`${table.toString()}\n`);
    const counts = Object.entries(store.statusCountsOf(runs)).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ');
    process.stdout.write(`${runs.length} run(s)${counts ? `: ${counts}` : ''}\n`);
    return 0;
  } finally {
    store.close();
  }
}

runCli(main);
