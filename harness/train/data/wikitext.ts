// WikiText-103 / WikiText-2 from a folder in the published layout: wiki.{train,valid,test}.raw
// (the "raw" release the paper trains on) or wiki.{train,valid,test}.tokens; raw wins when a
// folder has both. Files are streamed, never read whole: WikiText-103's train split is 540 MB,
// past what one JS string can hold. For scale: the reference's config puts WikiText-103's raw
// train split at 117,920,140 GPT-2 tokens under the same line-by-line convention.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../../contract/errors.ts';
import { SPLITS, type SplitName, type SplitText } from './split-tokens.ts';

export type WikiTextCorpus = 'wikitext-103' | 'wikitext-2';
export type WikiTextLayout = 'raw' | 'tokens';

export interface WikiTextFiles {
  layout: WikiTextLayout;
  paths: Record<SplitName, string>;
}

const LAYOUTS: readonly WikiTextLayout[] = ['raw', 'tokens'];

function fileName(split: SplitName, layout: WikiTextLayout): string {
  return `wiki.${split}.${layout}`;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Finds the three split files, or throws one UserError naming the folder and the expected names. */
export async function locateWikiText(corpus: WikiTextCorpus, dataDir: string): Promise<WikiTextFiles> {
  const dir = resolve(dataDir);
  const expected = `expected wiki.train.raw, wiki.valid.raw, wiki.test.raw (or the .tokens files) from the ${corpus} release`;
  let dirStat;
  try {
    dirStat = await stat(dir);
  } catch {
    throw new UserError(`data.dataDir: folder ${dir} does not exist; ${expected}; set data.dataDir to the folder that holds them`);
  }
  if (!dirStat.isDirectory()) throw new UserError(`data.dataDir: ${dir} is not a folder; ${expected}`);

  const found: string[] = [];
  for (const layout of LAYOUTS) {
    const paths = Object.fromEntries(SPLITS.map((split) => [split, join(dir, fileName(split, layout))])) as Record<SplitName, string>;
    const present = await Promise.all(SPLITS.map((split) => isFile(paths[split])));
    if (present.every(Boolean)) return { layout, paths };
    SPLITS.forEach((split, i) => present[i] && found.push(fileName(split, layout)));
  }
  const has = found.length ? `it has only ${found.join(', ')}` : 'it has none of them';
  throw new UserError(`data.dataDir: folder ${dir} is missing ${corpus} files: ${expected}; ${has}`);
}

// Only the first bytes are searched for NUL: text never has one, binary files nearly always
// do early on; the full UTF-8 check below covers the rest.
const NUL_SCAN_BYTES = 1 << 16;

/**
 * Streams the file once: its sha256 (the cache key) and a check that it is UTF-8 text with
 * something in it. A malformed file becomes one UserError naming it.
 */
export async function fingerprintTextFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let bytes = 0;
  let sawText = false;
  const malformed = (why: string) => new UserError(`data.dataDir: ${path} ${why}; expected the plain-text WikiText file`);
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
  try {
    utf8.decode();
  } catch {
    throw malformed('is not UTF-8 text (it ends inside a character)');
  }
  if (!sawText) throw malformed(bytes === 0 ? 'is empty' : 'has only whitespace');
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * The file's lines, each with its "\n", "\r\n" read as "\n" (Python's universal newlines, which
 * the reference's loader uses).
 */
export async function* readLines(path: string): AsyncGenerator<string> {
  const utf8 = new TextDecoder('utf-8');
  let pending = '';
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    pending += utf8.decode(chunk, { stream: true });
    let start = 0;
    for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n', start)) {
      const line = pending.slice(start, end);
      yield (line.endsWith('\r') ? line.slice(0, -1) : line) + '\n';
      start = end + 1;
    }
    pending = pending.slice(start);
  }
  pending += utf8.decode();
  if (pending.length > 0) yield pending;
}

/** The three splits as tokenizable texts (fingerprinting each file up front). */
export async function wikiTextSplits(corpus: WikiTextCorpus, dataDir: string): Promise<{ files: WikiTextFiles; splits: SplitText[] }> {
  const files = await locateWikiText(corpus, dataDir);
  const splits: SplitText[] = [];
  for (const split of SPLITS) {
    const path = files.paths[split];
    const { sha256, bytes } = await fingerprintTextFile(path);
    splits.push({
      split,
      label: `${corpus}-${files.layout}-${split}`,
      bytes,
      sha256: async () => sha256,
      lines: () => readLines(path),
    });
  }
  return { files, splits };
}
