// npm run report [-- options]: the paper's comparison table (and an HTML report) from the
// results database. Never re-runs anything; the one thing it writes is the results of
// detached cluster (Slurm) jobs that ended since the last look (see collectDetached).
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UserError } from '../contract/errors.ts';
import { dbPath, runCli } from './common.ts';
import { FORMATS, type Format } from '../report/format.ts';
import { makeReport } from '../report/report.ts';
import { checkOutputPlace, writeOutput } from '../report/write-output.ts';
import { openReadOnly } from '../store/sweep-read.ts';
import type { SweepRef } from '../store/sweep-read.ts';
import { collectUnattended } from '../schedule/executors.ts';

const HELP = `usage: npm run report [-- options]

Prints the comparison table of a sweep (the latest by default), or of several read as one:
one block per profile, rows
model x method x precision (x other axes the sweep varied), test perplexity (mean ± std over
seeds) beside the paper's, parameters, x smaller / x faster / FLOP speedup against the
full-rank run of the same model, precision, profile and seed, final rank, steps, status.

options:
  --db FILE         results database (default: results/inrank.db in the repository)
  --sweep ID|SPEC   a sweep id (see npm run runs) or a spec name (its latest sweep); repeat
                    it for one table and one set of charts across sweeps; default: the latest
  --format F        terminal | md | csv | json (default terminal; fits the terminal's width)
  --out FILE        write the table to FILE instead of stdout
  --html FILE       also write the HTML report to FILE: one offline file, interactive charts
                    (tooltips, a legend that toggles runs, zoom)
  --static          with --html: SVG charts and no script instead
  --help            this text
`;

interface CliOptions {
  db: string;
  sweeps: SweepRef[];
  static: boolean;
  format: Format;
  out: string | null;
  html: string | null;
  help: boolean;
}

function parseReportArgs(argv: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        db: { type: 'string' },
        sweep: { type: 'string', multiple: true },
        static: { type: 'boolean', default: false },
        format: { type: 'string', default: 'terminal' },
        out: { type: 'string' },
        html: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new UserError(`report: ${msg} (see npm run report -- --help)`);
  }
  const v = parsed.values;
  const format = v.format ?? 'terminal';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UserError(`report: unknown --format '${format}'; use one of ${FORMATS.join(', ')}`);
  }
  // A number is a sweep id; anything else names a spec (its latest sweep).
  const sweeps: SweepRef[] = (v.sweep ?? []).map((ref) => (/^\d+$/.test(ref) ? Number(ref) : ref));
  if (sweeps.some((ref) => ref === '')) throw new UserError('report: --sweep takes a sweep id or a spec name, got an empty value');
  if (v.static && !v.html) throw new UserError('report: --static applies to the HTML report; add --html FILE');
  return {
    db: dbPath(v.db), sweeps, static: v.static ?? false, format: format as Format, out: v.out ?? null, html: v.html ?? null,
    help: v.help ?? false,
  };
}

async function main(argv: string[]): Promise<number> {
  const opts = parseReportArgs(argv);
  if (opts.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // Refuses a missing, foreign or newer file before anything could write to it (collectDetached may).
  openReadOnly(opts.db).close();
  // And outputs that cannot be written, before the (possibly slow) report is made.
  if (opts.out) checkOutputPlace(opts.out, '--out');
  if (opts.html) checkOutputPlace(opts.html, '--html');
  await collectDetached(opts.db);
  // Fit the terminal only when the table goes to one.
  const width = !opts.out && process.stdout.isTTY ? process.stdout.columns ?? null : null;
  const { text } = await makeReport({
    db: opts.db, sweeps: opts.sweeps, format: opts.format, html: opts.html, static: opts.static, fit: { width },
  });
  if (opts.out) {
    writeOutput(opts.out, '--out', text);
    process.stderr.write(`wrote ${opts.out}\n`);
  } else {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`); // the shell's prompt on a line of its own
  }
  if (opts.html) process.stderr.write(`wrote ${opts.html}\n`);
  return 0;
}

/**
 * Stores the results of cluster jobs that ran while no harness followed them (`--detach`), so
 * the report shows them; each executor keeps this to one query when there are none.
 */
async function collectDetached(db: string): Promise<void> {
  if (!existsSync(db)) return;
  await collectUnattended(db, (line) => process.stderr.write(`${line}\n`));
}

runCli(main);
