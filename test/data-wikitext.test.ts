import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../harness/contract/errors.ts';
import { loadCorpus, type DataConfig } from '../harness/train/data/corpus.ts';
import { Gpt2Tokenizer, isBlankLine } from '../harness/train/data/tokenizer.ts';
import { locateWikiText, readLines } from '../harness/train/data/wikitext.ts';

const fixture = new URL('./fixtures/data-wikitext/', import.meta.url).pathname;
const scratch = await mkdtemp(join(tmpdir(), 'data-wikitext-'));
after(() => rm(scratch, { recursive: true, force: true }));

const config = (dataDir: string, cacheDir = join(scratch, 'cache'), vocabTopK: number | null = null): DataConfig => ({
  corpus: 'wikitext-2',
  dataDir,
  cacheDir,
  vocabTopK,
});
const quiet = () => {};

// The reference's convention: one tokenizer call per line (with its "\n"), blank lines dropped.
async function expectedIds(path: string): Promise<number[]> {
  const tokenizer = new Gpt2Tokenizer();
  const lines = (await readFile(path, 'utf8')).split(/(?<=\n)/);
  return lines.filter((line) => !isBlankLine(line)).flatMap((line) => tokenizer.encode(line));
}

test('raw layout: each split is the per-line GPT-2 encoding of its file, blank lines dropped', async () => {
  const corpus = await loadCorpus(config(join(fixture, 'raw')), quiet);
  assert.deepEqual([...corpus.train], await expectedIds(join(fixture, 'raw/wiki.train.raw')));
  assert.deepEqual([...corpus.valid], await expectedIds(join(fixture, 'raw/wiki.valid.raw')));
  assert.deepEqual([...corpus.test], await expectedIds(join(fixture, 'raw/wiki.test.raw')));
  assert.equal(corpus.vocabSize, 50257);
  assert.equal(corpus.unknownId, null);
  assert.ok(corpus.train instanceof Uint16Array);
  assert.match(corpus.source, /wikitext-2 \(raw files\)/);
  const text = new Gpt2Tokenizer().decode(corpus.valid);
  assert.equal(text, ' = Old Mill Bridge = \n Old Mill Bridge is a stone arch bridge over the river , completed in 1795 and widened in 1934 . \n');
});

test('tokens layout loads, and raw wins when a folder has both', async () => {
  const tokens = await loadCorpus(config(join(fixture, 'tokens')), quiet);
  assert.match(tokens.source, /\(tokens files\)/);
  assert.deepEqual([...tokens.test], await expectedIds(join(fixture, 'tokens/wiki.test.tokens')));

  const both = join(scratch, 'both');
  await cp(join(fixture, 'raw'), both, { recursive: true });
  await cp(join(fixture, 'tokens'), both, { recursive: true });
  assert.equal((await locateWikiText('wikitext-2', both)).layout, 'raw');
  const loaded = await loadCorpus(config(both), quiet);
  assert.deepEqual([...loaded.test], await expectedIds(join(fixture, 'raw/wiki.test.raw')));
});

test('a missing folder or missing files: one UserError naming the folder and the expected files', async () => {
  const missing = join(scratch, 'no-such-folder');
  await assert.rejects(loadCorpus(config(missing), quiet), (error: unknown) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, new RegExp(`folder ${missing} does not exist`));
    assert.match(error.message, /wiki\.train\.raw, wiki\.valid\.raw, wiki\.test\.raw/);
    return true;
  });
  const partial = join(scratch, 'partial');
  await cp(join(fixture, 'raw'), partial, { recursive: true });
  await rm(join(partial, 'wiki.valid.raw'));
  await assert.rejects(loadCorpus(config(partial), quiet), (error: unknown) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, new RegExp(`folder ${partial} is missing wikitext-2 files`));
    assert.match(error.message, /it has only wiki\.train\.raw, wiki\.test\.raw/);
    return true;
  });
});

test('empty, whitespace-only and binary files are UserErrors naming the file', async () => {
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /is empty/],
    ['blank', Buffer.from(' \n \n'), /has only whitespace/],
    ['binary', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x10]), /is binary/],
    ['latin1', Buffer.from('caf\xe9 au lait\n', 'latin1'), /is not UTF-8/],
  ];
  for (const [name, bytes, why] of cases) {
    const dir = join(scratch, `bad-${name}`);
    await cp(join(fixture, 'raw'), dir, { recursive: true });
    await writeFile(join(dir, 'wiki.test.raw'), bytes);
    await assert.rejects(loadCorpus(config(dir), quiet), (error: unknown) => {
      assert.ok(error instanceof UserError, `${name}: ${String(error)}`);
      assert.match(error.message, /wiki\.test\.raw/);
      assert.match(error.message, why);
      return true;
    });
  }
});

test('cache: a second load hits and returns identical ids; a changed file changes its key', async () => {
  const dir = join(scratch, 'cached');
  const cacheDir = join(scratch, 'cache-2');
  await cp(join(fixture, 'raw'), dir, { recursive: true });
  const first = await loadCorpus(config(dir, cacheDir), quiet);
  assert.match(first.source, /tokenized and cached/);
  const files = (await readdir(cacheDir)).sort();
  assert.equal(files.length, 3);

  const second = await loadCorpus(config(dir, cacheDir), quiet);
  assert.match(second.source, /token cache hit in/);
  assert.deepEqual(second.train, first.train);
  assert.deepEqual(second.valid, first.valid);
  assert.deepEqual(second.test, first.test);

  // Same size, one byte different: a size + mtime key would miss this.
  const trainPath = join(dir, 'wiki.train.raw');
  const original = await readFile(trainPath, 'utf8');
  await writeFile(trainPath, original.replace('1871', '1872'));
  const third = await loadCorpus(config(dir, cacheDir), quiet);
  assert.match(third.source, /token cache hit for 2 of 3 splits/);
  assert.notDeepEqual(third.train, first.train);
  assert.equal((await readdir(cacheDir)).length, 4);
  assert.deepEqual([...third.train], await expectedIds(trainPath));
});

test('a truncated cache file is ignored and rebuilt', async () => {
  const cacheDir = join(scratch, 'cache-3');
  const first = await loadCorpus(config(join(fixture, 'raw'), cacheDir), quiet);
  const trainCache = (await readdir(cacheDir)).find((name) => name.includes('-train.'))!;
  const bytes = await readFile(join(cacheDir, trainCache));
  await writeFile(join(cacheDir, trainCache), bytes.subarray(0, bytes.length - 2));
  const second = await loadCorpus(config(join(fixture, 'raw'), cacheDir), quiet);
  assert.match(second.source, /token cache hit for 2 of 3 splits/);
  assert.deepEqual(second.train, first.train);
});

test('vocabTopK remaps every split after the cache', async () => {
  const corpus = await loadCorpus(config(join(fixture, 'raw'), join(scratch, 'cache'), 16), quiet);
  assert.equal(corpus.vocabSize, 16);
  assert.equal(corpus.unknownId, 15);
  for (const split of [corpus.train, corpus.valid, corpus.test]) assert.ok(split.every((id) => id < 16));
  assert.ok(corpus.valid.includes(15));
  assert.match(corpus.source, /top 15 training ids \+ unknown id 15/);
});

test('lines keep their "\\n", "\\r\\n" reads as "\\n", a last line without newline is kept', async () => {
  const path = join(scratch, 'lines.txt');
  await writeFile(path, 'a\r\nb\n\n é c');
  const lines: string[] = [];
  for await (const line of readLines(path)) lines.push(line);
  assert.deepEqual(lines, ['a\n', 'b\n', '\n', ' é c']);
});
