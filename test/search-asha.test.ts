// ASHA's decisions on synthetic curves: rungs, promotion of the top 1/factor, pruning the rest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideAtRung, defaultMinTokens, evalEveryForRungs, rungAt, rungsOf } from '../harness/search/asha.ts';

test('rungs: minTokens x factor^k below the full budget; the rung a token count has reached', () => {
  assert.deepEqual(rungsOf({ minTokens: 1000, reductionFactor: 3, maxTokens: 30_000 }), [1000, 3000, 9000, 27000]);
  assert.deepEqual(rungsOf({ minTokens: 1000, reductionFactor: 3, maxTokens: 27_000 }), [1000, 3000, 9000], 'no rung at the end of training');
  assert.equal(defaultMinTokens(307_200, 3), 34_133);
  const rungs = [1000, 3000, 9000];
  assert.equal(rungAt(rungs, 999), -1);
  assert.equal(rungAt(rungs, 1000), 0);
  assert.equal(rungAt(rungs, 8999), 1);
  assert.equal(rungAt(rungs, 1e9), 2);
  // cpu profile: 1,024 tokens a step; rungs at 51,200 and 153,600 tokens = steps 50 and 150.
  assert.equal(evalEveryForRungs([51_200, 153_600], 1024), 50);
  assert.equal(evalEveryForRungs([4096, 12_288], 1024), 4);
});

test('the top 1/factor continue, the others are pruned; ties go the trial\'s way; one alone continues', () => {
  assert.equal(decideAtRung(0, 300, [], 3).decision, 'continue');
  // Two values, factor 3: only the better one continues.
  assert.equal(decideAtRung(0, 250, [300], 3).decision, 'continue');
  assert.equal(decideAtRung(0, 300, [250], 3).decision, 'prune');
  assert.equal(decideAtRung(0, 250, [250], 3).decision, 'continue', 'a tie continues');
  // Six values, factor 3: the top 2 continue.
  assert.equal(decideAtRung(1, 210, [200, 220, 230, 240, 250], 3).decision, 'continue');
  const pruned = decideAtRung(1, 225, [200, 210, 230, 240, 250], 3);
  assert.equal(pruned.decision, 'prune');
  assert.match(pruned.reason, /valid ppl 225\.0 at rung 1 ranks 3 of 6; only the top 2 continue \(cutoff 210\.0\)/);
  // A diverged curve (NaN) never beats a finite one.
  assert.equal(decideAtRung(0, NaN, [400], 2).decision, 'prune');
});

test('on synthetic curves, each trial is pruned at the first rung where it is not in the top 1/factor of those seen', () => {
  // Validation perplexity of six trials at three rungs, in the order the trials ran.
  const curves = [
    [300, 250, 200], // alone at every rung: continues
    [280, 240, 190], // best of 2 at each rung
    [350, 330, 320], // 3rd of 3 at rung 0 (keep 1): pruned there
    [290, 245, 195], // 3rd of 4 at rung 0 (keep 1): pruned there
    [270, 260, 210], // best of 5 at rung 0; 3rd of 3 at rung 1: pruned there
    [275, 235, 185], // 2nd of 6 at rung 0 (keep 2); best at rungs 1 and 2
  ];
  const atRung = new Map<number, number[]>();
  const prunedAt = curves.map((curve) => {
    for (let k = 0; k < curve.length; k++) {
      const peers = atRung.get(k) ?? [];
      atRung.set(k, [...peers, curve[k]!]);
      if (decideAtRung(k, curve[k]!, peers, 3).decision === 'prune') return k;
    }
    return null;
  });
  assert.deepEqual(prunedAt, [null, null, 0, 0, 1, null]);
  assert.deepEqual([...atRung.values()].map((v) => v.length), [6, 4, 3], 'fewer trials reach each later rung');
});
