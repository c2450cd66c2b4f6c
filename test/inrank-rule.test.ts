// The rank rule on crafted spectra, against answers computed by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRank, explainedRatio, padSpectrum } from '../harness/train/inrank/rank-rule.ts';

const close = (a: number, b: number, msg?: string): void => assert.ok(Math.abs(a - b) < 1e-12, msg ?? `${a} != ${b}`);

// Four ones padded to eight: with m ones among n = 8 values, (n - 1) var = m - m^2 / 8,
// so var(s) ~ 2 and ratio(i) = 1 - ((4 - i) - (4 - i)^2 / 8) / 2.
const fourOnes = [1, 1, 1, 1, 0, 0, 0, 0];

test('explained ratio: hand-computed values, unbiased variance over the padded spectrum', () => {
  close(explainedRatio(fourOnes, 0), 0);
  close(explainedRatio(fourOnes, 1), 0.0625);
  close(explainedRatio(fourOnes, 2), 0.25);
  close(explainedRatio(fourOnes, 3), 0.5625);
  close(explainedRatio(fourOnes, 4), 1);
  // [3, 1, 0, 0]: var = 2; zeroing the 3 leaves [0, 1, 0, 0] with var 0.25.
  close(explainedRatio([3, 1, 0, 0], 1), 0.875);
  // The padding the reference's min(in, out)-long spectrum implies changes the answer:
  // [3, 1] alone has var 2, [0, 1] var 0.5, ratio 0.75.
  close(explainedRatio([3, 1], 1), 0.75);
  close(explainedRatio(padSpectrum([3, 1], 4), 1), 0.875);
  assert.deepEqual(Array.from(padSpectrum([3, 1], 4)), [3, 1, 0, 0]);
});

test('first index whose ratio passes the threshold', () => {
  // current 1, buffer 3, max 20: tries 1, 2, 3; ratio(3) = 0.5625 is the first > 0.5.
  const d = decideRank(fourOnes, { currentModes: 1, bufferModes: 3, maxRank: 20, threshold: 0.5 });
  assert.equal(d.currentModes, 3);
  assert.deepEqual(d.tried, [1, 2, 3]);
  close(d.explainedRatio, 0.5625);
  // [3, 1, 0, 0] with threshold 0.9: ratio(1) = 0.875 fails, ratio(2) = 1 passes.
  const e = decideRank([3, 1, 0, 0], { currentModes: 1, bufferModes: 2, maxRank: 10, threshold: 0.9 });
  assert.equal(e.currentModes, 2);
  close(e.explainedRatio, 1);
});

test('the comparison is strict: a ratio equal to the threshold does not pass', () => {
  const t = explainedRatio(fourOnes, 2);
  const d = decideRank(fourOnes, { currentModes: 2, bufferModes: 3, maxRank: 20, threshold: t });
  assert.deepEqual(d.tried, [2, 3]);
  assert.equal(d.currentModes, 3);
});

test('no index passes: the last index tried, current + buffer - 1', () => {
  const d = decideRank(fourOnes, { currentModes: 1, bufferModes: 2, maxRank: 20, threshold: 0.9 });
  assert.deepEqual(d.tried, [1, 2]);
  assert.equal(d.currentModes, 2);
  close(d.explainedRatio, 0.25);
});

test('at the cap: the loop stops below max_rank - buffer, and the rank then stays put', () => {
  // max 6, buffer 2: the loop's end is min(2 + 2, 6 - 2) = 4, so it tries 2, 3; none pass.
  const d = decideRank(fourOnes, { currentModes: 2, bufferModes: 2, maxRank: 6, threshold: 0.9 });
  assert.deepEqual(d.tried, [2, 3]);
  assert.equal(d.currentModes, 3); // max_rank - buffer - 1: the highest rank the reference reaches
  const again = decideRank(fourOnes, { currentModes: 3, bufferModes: 2, maxRank: 6, threshold: 0.9 });
  assert.deepEqual(again.tried, [3]);
  assert.equal(again.currentModes, 3);
  // At (or above) max_rank - buffer the reference skips the rule entirely.
  const skipped = decideRank(fourOnes, { currentModes: 4, bufferModes: 2, maxRank: 6, threshold: 0.1 });
  assert.deepEqual(skipped.tried, []);
  assert.equal(skipped.currentModes, 4);
});

test('never shrinks, even when fewer modes would explain the spectrum', () => {
  const spike = [5, 0, 0, 0, 0, 0, 0, 0]; // ratio(1) = 1 already
  const d = decideRank(spike, { currentModes: 3, bufferModes: 2, maxRank: 16, threshold: 0.9 });
  assert.equal(d.currentModes, 3);
  assert.deepEqual(d.tried, [3]);
});

test('no buffer (fixed rank): the rule changes nothing', () => {
  const d = decideRank(fourOnes, { currentModes: 2, bufferModes: 0, maxRank: 8, threshold: 0.9 });
  assert.equal(d.currentModes, 2);
  assert.deepEqual(d.tried, []);
});

test('a zero spectrum gives NaN ratios that never pass (torch gives nan too)', () => {
  const d = decideRank([0, 0, 0, 0], { currentModes: 1, bufferModes: 2, maxRank: 8, threshold: 0.9 });
  assert.equal(d.currentModes, 2);
  assert.ok(Number.isNaN(d.explainedRatio), `ratio ${d.explainedRatio}`);
});
