import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { brownDocumentText, brownSplitOf, brownSplits, detokenize, readBrownDocuments } from '../harness/train/data/brown.ts';
import { loadCorpus, type DataConfig } from '../harness/train/data/corpus.ts';
import { Gpt2Tokenizer } from '../harness/train/data/tokenizer.ts';

const scratch = await mkdtemp(join(tmpdir(), 'data-brown-'));
after(() => rm(scratch, { recursive: true, force: true }));
const documents = await readBrownDocuments();

// Written in the package's format: tab-opened paragraphs, continuation lines, a headline,
// the release's repeated sentence marks and quotes before commas / periods.
const tagged = [
  '',
  '\t``/`` Only/rb a/at handful/nn was/bedz received/vbn \'\'/\'\' ,/, the/at jury/nn said/vbd ,/, ``/`` considering/in the/at interest/nn \'\'/\'\' ./.',
  '',
  'Merger/nn-hl proposed/vbn-hl ',
  'He/pps had/hvd little/ap appetite/nn ;/. ;/.',
  'yet/cc his/pp$ face/nn (/( and/cc jaw/nn )/) was/bedz fuller/jjr than/cs Mr./np Allen/np Jr./np ./.',
  '',
  '\tShe/pps said/vbd \'/\' no/rb \'/\' ,/, didn\'t/dod* she/pps ?/. ?/.',
  '',
].join('\n');

test('tags stripped, punctuation and spacing restored, paragraphs one per line', () => {
  assert.equal(
    brownDocumentText(tagged),
    '"Only a handful was received," the jury said, "considering the interest."\n' +
      'Merger proposed\n' +
      'He had little appetite; yet his face (and jaw) was fuller than Mr. Allen Jr.\n' +
      "She said 'no', didn't she?\n",
  );
  assert.equal(detokenize(['The', 'end', '--', 'really', '.']), 'The end -- really.');
});

test('the real corpus: 500 documents as readable English with no tags left', () => {
  assert.equal(documents.length, 500);
  assert.equal(documents[0]!.name, 'ca01');
  assert.equal(documents[499]!.name, 'cr09');
  assert.ok(
    documents[0]!.text.startsWith(
      'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.\n',
    ),
  );
  const all = documents.map((doc) => doc.text).join('');
  assert.doesNotMatch(all, /[A-Za-z]\/(at|nn|nns|in|jj|vbd|np|cc|rb)( |$)/m);
  // No quote tokens left standing alone (inch marks like 10'' are the source's own), no space before a mark.
  assert.doesNotMatch(all, /(^| )(``|'')( |$)/m);
  assert.doesNotMatch(all, / [,.;:?!]( |$)/m);
  assert.doesNotMatch(all, /[a-z]\.\.(?!\.)/);
});

test('split by document: deterministic, disjoint, about 90 / 5 / 5', async () => {
  const splitOf = documents.map((_, i) => brownSplitOf(i));
  assert.deepEqual(
    ['train', 'valid', 'test'].map((s) => splitOf.filter((x) => x === s).length),
    [450, 25, 25],
  );
  assert.equal(brownSplitOf(18), 'valid');
  assert.equal(brownSplitOf(19), 'test');
  assert.equal(brownSplitOf(20), 'train');

  const a = await brownSplits();
  const b = await brownSplits();
  for (let i = 0; i < 3; i++) assert.equal(await a.splits[i]!.sha256(), await b.splits[i]!.sha256());
  const texts = Object.fromEntries(await Promise.all(a.splits.map(async (s) => [s.split, [...(s.lines() as Iterable<string>)].join('')])));
  // Each held-out document is in its own split and in no other; train is exactly the other 450.
  documents.forEach((doc, i) => {
    if (splitOf[i] === 'train') return;
    const opening = doc.text.slice(0, 200);
    for (const split of ['train', 'valid', 'test']) assert.equal(texts[split]!.includes(opening), split === splitOf[i], `${doc.name} in ${split}`);
  });
  assert.equal(texts.train, documents.filter((_, i) => splitOf[i] === 'train').map((doc) => doc.text).join('\n'));
  const bytes = a.splits.map((s) => s.bytes);
  const total = bytes[0]! + bytes[1]! + bytes[2]!;
  assert.ok(total > 5e6 && total < 8e6, `total ${total}`);
  assert.ok(bytes[0]! / total > 0.85 && bytes[1]! / total > 0.03 && bytes[2]! / total > 0.03, bytes.join(' '));
});

test('loadCorpus brown: tokenized once, then a fast cache hit with identical ids; top-K remap on top', async () => {
  const data: DataConfig = { corpus: 'brown', dataDir: null, cacheDir: join(scratch, 'cache'), vocabTopK: null };
  let t = performance.now();
  const built = await loadCorpus(data, () => {});
  const buildMs = performance.now() - t;
  t = performance.now();
  const hit = await loadCorpus(data, () => {});
  const hitMs = performance.now() - t;
  assert.match(built.source, /tokenized and cached/);
  assert.match(hit.source, /token cache hit in/);
  assert.ok(hitMs < buildMs, `hit ${hitMs} ms vs build ${buildMs} ms`);
  assert.deepEqual(hit.train, built.train);
  assert.deepEqual(hit.valid, built.valid);
  assert.deepEqual(hit.test, built.test);
  assert.ok(built.train.length > 1_000_000 && built.valid.length > 40_000 && built.test.length > 40_000);
  assert.equal(new Gpt2Tokenizer().decode(built.train.subarray(0, 5)), 'The Fulton County Grand Jury');

  const reduced = await loadCorpus({ ...data, vocabTopK: 4096 }, () => {});
  assert.match(reduced.source, /token cache hit/);
  assert.equal(reduced.vocabSize, 4096);
  assert.equal(reduced.unknownId, 4095);
  assert.equal(reduced.train.length, built.train.length);
  // The most frequent training id becomes 0 and keeps its positions.
  const counts = new Map<number, number>();
  for (const id of built.train) counts.set(id, (counts.get(id) ?? 0) + 1);
  const top = [...counts].reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];
  assert.equal(reduced.train[built.train.indexOf(top)], 0);
  assert.equal(reduced.train[built.train.lastIndexOf(top)], 0);
});
