import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../harness/contract/errors.ts';
import { applyVocabRemap, buildVocabRemap, unknownFraction } from '../harness/train/data/vocab-remap.ts';

// Training frequencies: id 7 x4, id 3 x3, id 9 x3, id 1 x2, id 5 x1.
const train = Uint16Array.from([7, 3, 9, 7, 1, 3, 9, 7, 5, 3, 9, 7, 1]);

test('keeps the K-1 most frequent training ids by rank, ties to the lower id, the rest to unknown K-1', () => {
  const remap = buildVocabRemap(train, 10, 4);
  assert.equal(remap.vocabSize, 4);
  assert.equal(remap.unknownId, 3);
  assert.deepEqual([...remap.keptIds], [7, 3, 9]); // 3 and 9 tie at 3: 3 first
  const mapped = applyVocabRemap(train, remap);
  assert.deepEqual([...mapped], [0, 1, 2, 0, 3, 1, 2, 0, 3, 1, 2, 0, 3]);
  assert.ok(mapped instanceof Uint16Array);
  assert.equal(unknownFraction(mapped, remap.unknownId), 3 / 13);
});

test('valid / test ids map through the training table; ids never seen in training are never kept', () => {
  const remap = buildVocabRemap(train, 10, 8); // only 5 distinct ids were seen
  assert.deepEqual([...remap.keptIds], [7, 3, 9, 1, 5]);
  const valid = applyVocabRemap(Uint16Array.from([0, 5, 7, 8, 1]), remap);
  assert.deepEqual([...valid], [7, 4, 0, 7, 3]);
  assert.ok(Math.max(...valid) < remap.vocabSize);
});

test('deterministic: the same training ids give the same table', () => {
  const a = buildVocabRemap(train, 10, 3);
  const b = buildVocabRemap(Uint16Array.from(train), 10, 3);
  assert.deepEqual(a.newIdOf, b.newIdOf);
});

test('a K with no room for a kept token, or above the vocabulary, is a UserError', () => {
  assert.throws(() => buildVocabRemap(train, 10, 1), UserError);
  assert.throws(() => buildVocabRemap(train, 10, 11), /larger than the tokenizer's vocabulary/);
});
