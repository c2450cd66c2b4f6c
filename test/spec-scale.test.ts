// Scale: a 10,000-run grid expands in well under a few seconds. Prints the time, and as a
// baseline measured in the same run (the machine is shared and noisy), the time to merely
// validate 10,000 configs with the config schema, which every expansion must do anyway.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineSweep } from '../harness/spec/define.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import { formatPlanSummary } from '../harness/spec/table.ts';
import { parseRunConfig } from '../harness/contract/config.ts';

test('a 10,000-run grid expands in well under a few seconds', () => {
  // 10 lrs x 10 fixed ranks x 10 weight decays x 10 seeds of single-stage fixed-rank runs:
  // exactly 10,000 runs.
  const ten = (f: (i: number) => number) => Array.from({ length: 10 }, (_, i) => f(i));
  const spec = defineSweep({
    name: 'scale',
    description: 'a 10,000-run grid',
    axes: {
      model: ['gpt2'],
      method: ['fixed'],
      'train.lr': ten((i) => 1e-4 * (i + 1)),
      'inrank.initModes': ten((i) => 10 + i),
      'train.weightDecay': ten((i) => i / 100),
    },
    seeds: ten((i) => 1000 + i),
  });
  expandSweep(spec, { profile: 'smoke', runsDir: 'r', filters: ['seed=1000', 'train.lr=0.0001'] }); // warm up the JIT
  const t0 = performance.now();
  const plans = expandSweep(spec, { profile: 'smoke', runsDir: 'r', overrides: ['trainer.max_steps=20'] });
  const ms = performance.now() - t0;
  assert.equal(plans.length, 10_000);
  assert.equal(new Set(plans.map((p) => p.id)).size, 10_000);

  const t1 = performance.now();
  for (const p of plans) parseRunConfig(p.config);
  const baselineMs = performance.now() - t1;
  console.log(
    `expanded ${plans.length} runs in ${ms.toFixed(0)} ms (${((ms * 1000) / plans.length).toFixed(0)} us per run); ` +
      `baseline, validating the same 10,000 configs: ${baselineMs.toFixed(0)} ms; ratio ${(ms / baselineMs).toFixed(1)}x. ${formatPlanSummary(plans)}`,
  );
  assert.ok(ms < 10_000, `expansion took ${ms} ms`); // generous: the machine is shared
  assert.ok(ms < 15 * baselineMs, `expansion is ${ms / baselineMs}x a bare validation`);
});
