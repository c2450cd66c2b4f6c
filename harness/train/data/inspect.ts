// Loads a corpus the way a run would and says what came out: token counts, cache hit or not,
// load time, and a decoded sample. `--bench` also times the tokenizer against js-tiktoken's own
// encode on the same text (a ratio, since the machines are shared and noisy).
//
//   npx tsx harness/train/data/inspect.ts --corpus brown [--cache-dir results/cache] [--top-k 4096] [--bench]
//   npx tsx harness/train/data/inspect.ts --corpus wikitext-103 --data-dir <folder>
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { dataSchema } from '../../contract/config.ts';
import { UserError } from '../../contract/errors.ts';
import { brownSplits } from './brown.ts';
import { loadCorpus } from './corpus.ts';
import { gpt2Tokenizer } from './split-tokens.ts';
import { Gpt2Tokenizer, isBlankLine } from './tokenizer.ts';

// Both encoders see the same lines; the baseline runs before and after ours so drift from
// other load on the machine shows up as a difference between its two timings.
async function benchTokenizer(): Promise<void> {
  const { splits } = await brownSplits();
  const all: string[] = [];
  for await (const line of splits.find((s) => s.split === 'train')!.lines()) if (!isBlankLine(line)) all.push(line);
  const lines = all.slice(0, 8000);
  const bytes = lines.reduce((sum, line) => sum + Buffer.byteLength(line), 0) / 1e6;
  const plain = new Tiktoken(gpt2Ranks);
  const ours = new Gpt2Tokenizer();
  for (const line of all.slice(-300)) plain.encode(line, [], []), ours.encode(line); // JIT warm-up on other text
  const time = (encode: (line: string) => number[]) => {
    const t = performance.now();
    let tokens = 0;
    for (const line of lines) tokens += encode(line).length;
    return { seconds: (performance.now() - t) / 1000, tokens };
  };
  const before = time((line) => plain.encode(line, [], []));
  const mine = time((line) => ours.encode(line));
  const after = time((line) => plain.encode(line, [], []));
  if (before.tokens !== mine.tokens) throw new Error(`token counts differ: js-tiktoken ${before.tokens}, ours ${mine.tokens}`);
  const baseline = (before.seconds + after.seconds) / 2;
  const rate = (seconds: number) => `${(bytes / seconds).toFixed(2)} MB/s`;
  console.log(`tokenizer on the first ${lines.length} lines of brown train (${bytes.toFixed(2)} MB, ${mine.tokens} tokens):`);
  console.log(`  js-tiktoken encode per line (baseline): ${rate(before.seconds)} before, ${rate(after.seconds)} after`);
  console.log(`  ours, memoized pieces from empty:       ${rate(mine.seconds)} = ${(baseline / mine.seconds).toFixed(2)}x baseline`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      corpus: { type: 'string', default: 'brown' },
      'data-dir': { type: 'string' },
      'cache-dir': { type: 'string' },
      'top-k': { type: 'string' },
      bench: { type: 'boolean', default: false },
    },
  });
  const parsed = dataSchema.safeParse({
    corpus: values.corpus,
    dataDir: values['data-dir'] ?? null,
    ...(values['cache-dir'] ? { cacheDir: values['cache-dir'] } : {}),
    vocabTopK: values['top-k'] === undefined ? null : Number(values['top-k']),
  });
  if (!parsed.success) throw new UserError(`inspect: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
  const data = parsed.data;

  for (const attempt of ['first load', 'second load']) {
    const t = performance.now();
    const corpus = await loadCorpus(data, (line) => console.log(`  ${line}`));
    console.log(`${attempt}: ${((performance.now() - t) / 1000).toFixed(2)} s`);
    if (attempt === 'second load' && data.vocabTopK === null) {
      console.log(`sample (valid, first 40 tokens): ${JSON.stringify(gpt2Tokenizer().decode(corpus.valid.subarray(0, 40)))}`);
    }
  }
  if (values.bench) await benchTokenizer();
}

main().catch((error: unknown) => {
  if (error instanceof UserError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
});
