import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../harness/contract/errors.ts';
import { TokenWindows } from '../harness/train/data/windows.ts';

const ramp = (n: number) => Uint16Array.from({ length: n }, (_, i) => i);

test('count is floor((n - 1) / context): windows share one boundary token and a partial window is dropped', () => {
  assert.equal(new TokenWindows(ramp(13), 4).count, 3); // 0..4, 4..8, 8..12
  assert.equal(new TokenWindows(ramp(12), 4).count, 2); // 8..12 would need token 12
  assert.equal(new TokenWindows(ramp(5), 4).count, 1);
  assert.equal(new TokenWindows(new Uint32Array(1025), 1024).count, 1);
});

test('fill writes the requested windows in order, targets shifted by one, stride context', () => {
  const windows = new TokenWindows(ramp(30), 4);
  const inputs = new Int32Array(3 * 4);
  const targets = new Int32Array(3 * 4);
  windows.fill([2, 0, 5], inputs, targets);
  assert.deepEqual([...inputs], [8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23]);
  assert.deepEqual([...targets], [9, 10, 11, 12, 1, 2, 3, 4, 21, 22, 23, 24]);
  for (let i = 0; i < inputs.length; i++) assert.equal(targets[i], inputs[i]! + 1);
});

test('fill reads ids above 32767 from Uint16 and Uint32 streams unchanged', () => {
  const tokens = Uint32Array.from([50256, 70000, 3, 65535, 9]);
  const inputs = new Int32Array(4);
  const targets = new Int32Array(4);
  new TokenWindows(tokens, 4).fill([0], inputs, targets);
  assert.deepEqual([...inputs], [50256, 70000, 3, 65535]);
  assert.deepEqual([...targets], [70000, 3, 65535, 9]);
});

test('a split too small for one window is a UserError naming the split and the sizes', () => {
  assert.throws(
    () => new TokenWindows(ramp(1024), 1024, 'valid'),
    (error: unknown) => error instanceof UserError && /valid split has 1024 tokens/.test(error.message) && /1025/.test(error.message),
  );
  assert.throws(() => new TokenWindows(new Uint16Array(0), 8, 'test'), UserError);
});

test('out-of-range windows and short output buffers are internal errors', () => {
  const windows = new TokenWindows(ramp(9), 4);
  assert.throws(() => windows.fill([2], new Int32Array(4), new Int32Array(4)), RangeError);
  assert.throws(() => windows.fill([0, 1], new Int32Array(4), new Int32Array(8)), RangeError);
});
