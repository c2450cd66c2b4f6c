// Writes a report file the user named (--out, --html). A place that cannot take it (a folder
// that is a file, no permission, a read-only or full filesystem, a folder in its place) is
// the user's to fix: one line naming the flag and the file, exit 2.
import { accessSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../contract/errors.ts';

const WHY: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only filesystem',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a folder on its path is a file',
  EEXIST: 'a folder on its path is a file',
  ENAMETOOLONG: 'the name is too long',
  // Node's recursive mkdir says ENOENT where a folder on the path cannot be made (a read-only filesystem).
  ENOENT: 'its folder cannot be created',
};

export function writeOutput(path: string, flag: string, text: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const why = WHY[code];
    if (!why) throw err;
    throw new UserError(`cannot write ${flag} ${path}: ${why} (${code}); choose another ${flag}`);
  }
}

/** The first ancestor of path that exists. */
function nearestExisting(path: string): string {
  let p = dirname(path);
  for (;;) {
    try {
      statSync(p);
      return p;
    } catch {
      if (dirname(p) === p) return p;
      p = dirname(p);
    }
  }
}

/**
 * Checks, before any work, that path can be written: not a folder, no file on its folder's
 * path, a writable place. The write itself still reports what only it can find (a full disk).
 */
export function checkOutputPlace(path: string, flag: string): void {
  const refuse = (code: string): never => {
    throw new UserError(`cannot write ${flag} ${path}: ${WHY[code] ?? code} (${code}); choose another ${flag}`);
  };
  try {
    if (statSync(path).isDirectory()) refuse('EISDIR');
    accessSync(path, constants.W_OK);
    return;
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOTDIR') refuse('ENOTDIR');
    if (code !== 'ENOENT') refuse(code);
  }
  const up = nearestExisting(path);
  if (!statSync(up).isDirectory()) refuse('ENOTDIR');
  try {
    accessSync(up, constants.W_OK);
  } catch (err) {
    refuse((err as NodeJS.ErrnoException).code ?? 'EACCES');
  }
}
