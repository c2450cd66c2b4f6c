// WikiText-103 / WikiText-2 from a folder in the published layout (contract/wikitext-files.ts
// finds and checks the files). Files are streamed, never read whole: WikiText-103's train split is 540 MB,
// past what one JS string can hold. For scale: the reference's config puts WikiText-103's raw
// train split at 117,920,140 GPT-2 tokens under the same line-by-line convention.
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { fingerprintTextFile, locateWikiText, type WikiTextCorpus, type WikiTextFiles } from '../../contract/wikitext-files.ts';
import { SPLITS, type SplitText } from './split-tokens.ts';

// Locating and checking the files is shared with the sweep's plan-time check (contract/).
export { fingerprintTextFile, locateWikiText, type WikiTextCorpus, type WikiTextFiles, type WikiTextLayout } from '../../contract/wikitext-files.ts';

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

/** The three splits as tokenizable texts (fingerprinting each file up front), with each file's hash. */
export async function wikiTextSplits(
  corpus: WikiTextCorpus,
  dataDir: string,
): Promise<{ files: WikiTextFiles; splits: SplitText[]; fileHashes: { name: string; sha256: string }[] }> {
  const files = await locateWikiText(corpus, dataDir);
  const splits: SplitText[] = [];
  const fileHashes: { name: string; sha256: string }[] = [];
  for (const split of SPLITS) {
    const path = files.paths[split];
    const { sha256, bytes } = await fingerprintTextFile(path);
    fileHashes.push({ name: basename(path), sha256 });
    splits.push({
      split,
      label: `${corpus}-${files.layout}-${split}`,
      bytes,
      sha256: async () => sha256,
      lines: () => readLines(path),
    });
  }
  return { files, splits, fileHashes };
}
