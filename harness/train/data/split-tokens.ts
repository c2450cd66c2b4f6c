// One corpus split's text to token ids, through the on-disk cache: hash the text, look up the
// key, and only on a miss run the (slow) tokenizer line by line and store the result.
import { performance } from 'node:perf_hooks';
import { Gpt2Tokenizer, isBlankLine, TOKENIZER_NAME, GPT2_VOCAB_SIZE } from './tokenizer.ts';
import { TokenBuffer, type TokenIds } from './token-buffer.ts';
import { readTokenCache, tokenCacheKey, tokenCachePath, writeTokenCache } from './token-cache.ts';

export type SplitName = 'train' | 'valid' | 'test';
export const SPLITS: readonly SplitName[] = ['train', 'valid', 'test'];

/** Names the segmentation in the cache key: one encode call per line, blank lines dropped. */
export const SEGMENTATION = 'lines-keep-newline-skip-blank';

export interface SplitText {
  split: SplitName;
  /** Names the cache file, e.g. 'wikitext-103-train'. */
  label: string;
  /** Size of the text in bytes (UTF-8), for progress and buffer sizing. */
  bytes: number;
  sha256(): Promise<string>;
  /** The text's lines, each with its trailing "\n" (the last one may lack it). */
  lines(): AsyncIterable<string> | Iterable<string>;
}

export interface SplitTokens {
  ids: TokenIds;
  cacheHit: boolean;
  cachePath: string;
  milliseconds: number;
}

// One tokenizer per process: building it parses the 50K-entry rank table (a few hundred ms).
let sharedTokenizer: Gpt2Tokenizer | null = null;
export function gpt2Tokenizer(): Gpt2Tokenizer {
  sharedTokenizer ??= new Gpt2Tokenizer();
  return sharedTokenizer;
}

export async function loadSplitTokens(text: SplitText, cacheDir: string, log: (line: string) => void): Promise<SplitTokens> {
  const started = performance.now();
  const key = tokenCacheKey({ contentSha256: await text.sha256(), tokenizer: TOKENIZER_NAME, segmentation: SEGMENTATION });
  const cachePath = tokenCachePath(cacheDir, text.label, key);
  const cached = await readTokenCache(cachePath);
  if (cached) return { ids: cached, cacheHit: true, cachePath, milliseconds: performance.now() - started };

  log(`data: tokenizing ${text.label} (${(text.bytes / 1e6).toFixed(1)} MB) with GPT-2 BPE; cached afterwards in ${cachePath}`);
  const ids = await tokenizeLines(text, log);
  await writeTokenCache(cachePath, ids, cacheDir);
  return { ids, cacheHit: false, cachePath, milliseconds: performance.now() - started };
}

// Progress lines for big inputs only: WikiText-103's train split takes minutes.
const PROGRESS_EVERY_BYTES = 50e6;

async function tokenizeLines(text: SplitText, log: (line: string) => void): Promise<TokenIds> {
  const tokenizer = gpt2Tokenizer();
  // English GPT-2 BPE averages a little over 4 bytes per token; start near the final size.
  const buffer = new TokenBuffer(GPT2_VOCAB_SIZE, text.bytes / 4);
  const started = performance.now();
  let bytesDone = 0;
  let nextReport = PROGRESS_EVERY_BYTES;
  for await (const line of text.lines()) {
    bytesDone += Buffer.byteLength(line);
    if (isBlankLine(line)) continue;
    tokenizer.encodeInto(line, buffer);
    if (bytesDone >= nextReport) {
      nextReport += PROGRESS_EVERY_BYTES;
      const seconds = (performance.now() - started) / 1000;
      log(
        `data: ${text.label}: ${(bytesDone / 1e6).toFixed(0)} / ${(text.bytes / 1e6).toFixed(0)} MB, ` +
          `${buffer.size.toLocaleString('en-US')} tokens, ${(bytesDone / 1e6 / seconds).toFixed(2)} MB/s`,
      );
    }
  }
  return buffer.finish();
}
