// Emulated fp16: IEEE half rounding on edge values, and dynamic loss scaling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { roundHalf, roundHalfArray } from '../harness/train/precision/half.ts';
import { LossScaler } from '../harness/train/precision/scaler.ts';
import { fp16Emulated } from '../harness/train/precision/index.ts';
import { useCpu } from './engine-helpers.ts';

test('half rounding: range limits', () => {
  assert.equal(roundHalf(65504), 65504);
  assert.equal(roundHalf(65519), 65504); // below the midpoint to 2^16
  assert.equal(roundHalf(65520), Infinity);
  assert.equal(roundHalf(-65520), -Infinity);
  assert.equal(roundHalf(1e6), Infinity);
  assert.equal(roundHalf(2 ** -24), 2 ** -24); // smallest subnormal
  assert.equal(roundHalf(2 ** -25), 0); // exactly half of it: tie to even (0)
  assert.equal(roundHalf(2 ** -26), 0);
  assert.equal(roundHalf(1.5 * 2 ** -25), 2 ** -24); // above the tie rounds up
  assert.equal(roundHalf(3 * 2 ** -25), 2 * 2 ** -24); // subnormal tie 1.5 ulp -> even (2)
  assert.equal(roundHalf(2 ** -14), 2 ** -14); // smallest normal
  assert.ok(Number.isNaN(roundHalf(NaN)));
});

test('half rounding: 11-bit significand, ties to even', () => {
  assert.equal(roundHalf(1 + 2 ** -10), 1 + 2 ** -10); // representable
  assert.equal(roundHalf(1 + 2 ** -11), 1); // tie between 1 and 1+2^-10: even is 1
  assert.equal(roundHalf(1 + 3 * 2 ** -11), 1 + 2 * 2 ** -10); // tie between odd and even: goes to even
  assert.equal(roundHalf(1 + 2 ** -11 + 2 ** -20), 1 + 2 ** -10); // above the tie
  assert.equal(roundHalf(2049), 2048); // tie at 2^11 spacing 2: even
  assert.equal(roundHalf(2051), 2052);
  assert.equal(roundHalf(0.1), 0.0999755859375);
  assert.equal(roundHalf(-0.1), -0.0999755859375);
});

test('the array rounding agrees with the scalar one', () => {
  const xs = new Float32Array([65504, 65519, 65520, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1, -7.77e-6, 123.456, -0, Infinity]);
  const copy = new Float32Array(xs);
  roundHalfArray(copy);
  xs.forEach((x, i) => assert.equal(copy[i], Math.fround(roundHalf(x)), `x = ${x}`));
});

test('the fp16 precision hook rounds tensors', async () => {
  await useCpu();
  const y = fp16Emulated.half(tf.tensor1d([0.1, 70000, 2 ** -25]));
  assert.deepEqual(Array.from(y.dataSync()), [0.0999755859375, Infinity, 0]);
});

test('loss scaler: halves and skips on overflow, grows after growthInterval clean steps', () => {
  const s = new LossScaler(2 ** 16, 3);
  assert.equal(s.update(false), true);
  assert.equal(s.scale, 2 ** 15);
  assert.equal(s.update(false), true);
  assert.equal(s.scale, 2 ** 14);
  assert.equal(s.update(true), false);
  assert.equal(s.update(true), false);
  assert.equal(s.scale, 2 ** 14);
  assert.equal(s.update(true), false); // third clean step: grows
  assert.equal(s.scale, 2 ** 15);
  assert.equal(s.update(true), false);
  assert.equal(s.update(false), true); // an overflow resets the growth count
  assert.equal(s.scale, 2 ** 14);
  assert.equal(s.update(true), false);
  assert.equal(s.update(true), false);
  assert.equal(s.scale, 2 ** 14);
});
