import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { GPT2_VOCAB_SIZE, Gpt2Tokenizer, isBlankLine } from '../harness/train/data/tokenizer.ts';

const english =
  'The café\'s owner — Zoë Ångström — said: "It\'s 3.5× cheaper (really!)"; naïve users can\'t tell.\n' +
  'Prices rose 12% in 2023, didn\'t they?  Emoji 🙂 and CJK 東京 survive too.\n\n  Indented line\twith a tab.\n';

test('GPT-2 BPE round-trips English with punctuation and unicode', () => {
  const tokenizer = new Gpt2Tokenizer();
  const ids = tokenizer.encode(english);
  assert.ok(ids.length > 30);
  assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < GPT2_VOCAB_SIZE));
  assert.equal(tokenizer.decode(ids), english);
});

test('known GPT-2 ids, and no EOS token is added', () => {
  const tokenizer = new Gpt2Tokenizer();
  assert.deepEqual(tokenizer.encode('Hello world'), [15496, 995]);
  assert.deepEqual(tokenizer.encode(' the'), [262]);
  assert.deepEqual(tokenizer.encode(''), []);
  // The special-token string in a text is ordinary text, never id 50256.
  const ids = tokenizer.encode('a <|endoftext|> b');
  assert.ok(!ids.includes(50256));
  assert.equal(tokenizer.decode(ids), 'a <|endoftext|> b');
});

test('memoized piece-wise encoding equals js-tiktoken encoding the whole string, repeatedly', () => {
  const reference = new Tiktoken(gpt2Ranks);
  const tokenizer = new Gpt2Tokenizer();
  const text = english.repeat(3) + ' = = History = = \n \n The tower is 21 @.@ 5 metres tall . \n';
  const expected = reference.encode(text, [], []);
  assert.deepEqual(tokenizer.encode(text), expected);
  assert.deepEqual(tokenizer.encode(text), expected); // second pass hits the memo
});

test('blank lines are the ones the reference drops', () => {
  assert.ok(isBlankLine(' \n'));
  assert.ok(isBlankLine(''));
  assert.ok(isBlankLine('\t \n'));
  assert.ok(!isBlankLine(' = Title = \n'));
});
