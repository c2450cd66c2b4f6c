// What every CLI shares: a user's mistake is one line on stderr and exit 2, an internal failure
// keeps its stack; option parsing errors count as the user's; default paths live under the
// repository's results/ folder, paths the user types are taken from their working directory.
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { REPO_ROOT } from '../schedule/repo-root.ts';
import { openReadStore, type Store } from '../store/store.ts';
import { UserError } from '../contract/errors.ts';

export const DEFAULT_DB = resolve(REPO_ROOT, 'results', 'inrank.db');
export const DEFAULT_RUNS_DIR = resolve(REPO_ROOT, 'results', 'runs');

/** Runs a CLI's main and exits with its code; UserError -> one line, exit 2. */
export function runCli(main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UserError) {
        // One line whatever the message quotes back (a value typed with a newline in it).
        process.stderr.write(`error: ${err.message.replace(/\r?\n/g, '\\n')}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
      }
    },
  );
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, strict, with its complaints turned into one-line UserErrors pointing at helpCommand. */
export function parseCliArgs<O extends Options>(argv: string[], options: O, helpCommand: string) {
  try {
    return parseArgs({ args: negativeValuesJoined(argv, options), options, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '').replace(/\.$/, '');
    throw new UserError(`${message}; see ${helpCommand}`);
  }
}

/**
 * `--retries -1` as `--retries=-1`: node's parseArgs calls a value that starts with a dash
 * "ambiguous"; a negative number after an option that takes a value is that value, and its
 * own check then says in one line what is wrong with it.
 */
function negativeValuesJoined(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const option = arg.startsWith('--') ? options[arg.slice(2)] : undefined;
    if (option?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

export function positiveIntOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} ${value}: give a whole number of at least 1`);
  return n;
}

export function nonNegIntOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${flag} ${value}: give a whole number (0 or more)`);
  return n;
}

/** A duration: 90 (seconds), 90s, 30m, 2h. */
export function durationOption(value: string | undefined, flag: string): number | null {
  if (value === undefined) return null;
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(value.trim());
  if (!m || Number(m[1]) <= 0) throw new UserError(`${flag} ${value}: give a duration such as 90s, 30m or 2h`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
}

export function dbPath(flag: string | undefined): string {
  return flag ? resolve(flag) : DEFAULT_DB;
}

/**
 * Opens an existing results database read-only for the reading commands: nothing in the file
 * changes. A missing, non-SQLite, foreign or newer file is the user's to fix (one line, exit 2).
 */
export function openExistingStore(path: string): Store {
  return openReadStore(path, `no results database at ${path}; run a sweep first (npm run sweep <spec>) or pass --db FILE`);
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export function formatNumber(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined) return '-';
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(digits + 1).replace(/\.?0+$/, '');
}

/** --limit: how many rows a listing shows; 'all' for every row (null). */
export function limitOption(value: string | undefined, flag: string, fallback: number): number | null {
  if (value === undefined) return fallback;
  if (value.trim() === 'all') return null;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new UserError(`${flag} ${value}: give a number of rows (0 or more) or all`);
  return n;
}
