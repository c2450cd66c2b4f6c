// WikiText-103 / WikiText-2 as a folder in the published layout: wiki.{train,valid,test}.raw
// (the "raw" release the paper trains on) or wiki.{train,valid,test}.tokens; raw wins when a
// folder has both. Shared by the sweep's plan-time data check and the trainer, so both find the
// same files and refuse the same folders with the same line.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from './errors.ts';

export type WikiTextCorpus = 'wikitext-103' | 'wikitext-2';
export type WikiTextLayout = 'raw' | 'tokens';
export type WikiTextSplit = 'train' | 'valid' | 'test';
export const WIKITEXT_SPLITS: readonly WikiTextSplit[] = ['train', 'valid', 'test'];

export interface WikiTextFiles {
  layout: WikiTextLayout;
  paths: Record<WikiTextSplit, string>;
}

const LAYOUTS: readonly WikiTextLayout[] = ['raw', 'tokens'];

export function wikiTextFileName(split: WikiTextSplit, layout: WikiTextLayout): string {
  return `wiki.${split}.${layout}`;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds the three split files, or throws one UserError naming the folder and the expected names.
 * label: how the message names the release (default the corpus).
 */
export async function locateWikiText(corpus: WikiTextCorpus, dataDir: string, label: string = corpus): Promise<WikiTextFiles> {
  const dir = resolve(dataDir);
  const expected = `expected wiki.train.raw, wiki.valid.raw, wiki.test.raw (or the .tokens files) from the ${label} release`;
  let dirStat;
  try {
    dirStat = await stat(dir);
  } catch {
    throw new UserError(`data.dataDir: folder ${dir} does not exist; ${expected}; set data.dataDir to the folder that holds them`);
  }
  if (!dirStat.isDirectory()) throw new UserError(`data.dataDir: ${dir} is not a folder; ${expected}`);

  const found: string[] = [];
  for (const layout of LAYOUTS) {
    const paths = Object.fromEntries(WIKITEXT_SPLITS.map((split) => [split, join(dir, wikiTextFileName(split, layout))])) as Record<WikiTextSplit, string>;
    const present = await Promise.all(WIKITEXT_SPLITS.map((split) => isFile(paths[split])));
    if (present.every(Boolean)) return { layout, paths };
    WIKITEXT_SPLITS.forEach((split, i) => present[i] && found.push(wikiTextFileName(split, layout)));
  }
  const has = found.length ? `it has only ${found.join(', ')}` : 'it has none of them';
  throw new UserError(`data.dataDir: folder ${dir} is missing ${label} files: ${expected}; ${has}`);
}

// Only the first bytes are searched for NUL: text never has one, binary files nearly always
// do early on; the full UTF-8 check below covers the rest.
const NUL_SCAN_BYTES = 1 << 16;

function readFailure(path: string, error: unknown): UserError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  return new UserError(`data.dataDir: ${path} cannot be read (${code}); check the file and its permissions`);
}

/**
 * Streams the file once: its sha256 and a check that it is UTF-8 text with something in it.
 * A malformed or unreadable file becomes one UserError naming it.
 */
export async function fingerprintTextFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let bytes = 0;
  let sawText = false;
  const malformed = (why: string) => new UserError(`data.dataDir: ${path} ${why}; expected the plain-text WikiText file`);
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      if (bytes < NUL_SCAN_BYTES && chunk.subarray(0, NUL_SCAN_BYTES - bytes).includes(0)) throw malformed('is binary (has NUL bytes)');
      let decoded: string;
      try {
        decoded = utf8.decode(chunk, { stream: true });
      } catch {
        throw malformed('is not UTF-8 text');
      }
      if (!sawText && decoded.trim().length > 0) sawText = true;
      bytes += chunk.length;
    }
  } catch (error) {
    throw error instanceof UserError ? error : readFailure(path, error);
  }
  try {
    utf8.decode();
  } catch {
    throw malformed('is not UTF-8 text (it ends inside a character)');
  }
  if (!sawText) throw malformed(bytes === 0 ? 'is empty' : 'has only whitespace');
  return { sha256: hash.digest('hex'), bytes };
}

// WikiText-2's raw train split is 10.9 MB, WikiText-103's 539 MB: a folder's train file says
// which release it is when nothing else does.
const WIKITEXT_103_MIN_TRAIN_BYTES = 100e6;

/** Which release a located folder holds, judged by the size of its train split. */
export async function wikiTextCorpusOf(files: WikiTextFiles): Promise<{ corpus: WikiTextCorpus; trainBytes: number }> {
  const trainBytes = (await stat(files.paths.train)).size;
  return { corpus: trainBytes >= WIKITEXT_103_MIN_TRAIN_BYTES ? 'wikitext-103' : 'wikitext-2', trainBytes };
}
