// The harness's own I/O faults (a full or read-only disk under --out, a results database that
// can no longer be written) as one line that says what failed and what to do. A fault is not a
// run's failure: it stops the sweep from starting more runs, and the CLI exits non-zero with
// this line instead of a stack.
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';

/** A fault already described in one line (thrown where the path and the flag are known). */
export class HarnessFault extends Error {
  override name = 'HarnessFault';
}

/** Where the fault happened: the path written, and which option names that place. */
export interface FaultPlace {
  path: string;
  flag: '--out' | '--db';
}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/** A directory that cannot be created because its nearest existing ancestor is read-only or not ours. */
function ancestorProblem(path: string): string | undefined {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (e) {
    return errno(e);
  }
}

function describeCode(code: string | undefined, { path, flag }: FaultPlace): string | null {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'SQLITE_FULL':
      return `disk full writing \`${path}\`: free space or choose another ${flag}`;
    case 'EROFS':
    case 'SQLITE_READONLY':
      return `read-only filesystem at \`${path}\`: remount it writable or choose another ${flag}`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to write \`${path}\`: fix its permissions or choose another ${flag}`;
    case 'EIO':
    case 'SQLITE_IOERR':
      return `I/O error writing \`${path}\`: check the disk or choose another ${flag}`;
    case 'SQLITE_BUSY':
      return `\`${path}\` stayed locked by another process: retry when it is done or choose another ${flag}`;
    case 'SQLITE_CANTOPEN':
      return `cannot open \`${path}\`: check the folder or choose another ${flag}`;
    default:
      return null;
  }
}

/**
 * One line for an I/O error of the harness itself, or null when err is not one (a bug keeps its
 * stack). SQLite's extended codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED) count as their
 * base code; a mkdir that fails with ENOENT under a read-only ancestor is that ancestor's fault.
 */
export function faultLine(err: unknown, place: FaultPlace): string | null {
  if (err instanceof HarnessFault) return err.message;
  let code = errno(err);
  if (code?.startsWith('SQLITE_')) code = code.replace(/^(SQLITE_[A-Z]+?)_.*$/, '$1');
  if (code === 'ENOENT' && (err as NodeJS.ErrnoException).syscall === 'mkdir') code = ancestorProblem(place.path) ?? code;
  const at = (err as NodeJS.ErrnoException | null)?.path;
  // The file a temp file stands for (config.json, not config.json.tmp-<pid>).
  const path = place.flag === '--out' && typeof at === 'string' ? at.replace(/\.tmp-\d+$/, '') : place.path;
  return describeCode(code, { ...place, path });
}

/** A trainer that died of a full or read-only disk says so in its error: not worth a retry. */
export function childIoFault(errorText: string | null, outDir: string): string | null {
  const m = /\b(ENOSPC|EDQUOT|EROFS|EIO)\b/.exec(errorText ?? '');
  if (!m) return null;
  const path = /'(\/[^']+)'/.exec(errorText!)?.[1] ?? outDir;
  return describeCode(m[1], { path, flag: '--out' });
}

/**
 * The CLI's last word on an error that reached it: an I/O fault in one line (SQLite's and those
 * on the database's own path name --db, the rest --out), or null for anything else.
 */
export function topLevelFaultLine(err: unknown, dbPath: string): string | null {
  const code = errno(err) ?? '';
  const at = (err as NodeJS.ErrnoException | null)?.path;
  const onDb = code.startsWith('SQLITE_') || (typeof at === 'string' && (at === dbPath || dirname(dbPath).startsWith(at)));
  return onDb ? faultLine(err, { path: dbPath, flag: '--db' }) : faultLine(err, { path: typeof at === 'string' ? at : '?', flag: '--out' });
}
