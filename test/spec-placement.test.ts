// Where runs run (executor, slurm block) is settable in a spec and in its profile blocks, layered
// like settings, checked like settings, and never part of what a run is: the same runs, ids and
// configs with or without it.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { defineProfiles, defineSweep } from '../harness/spec/define.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import { placementOf } from '../harness/spec/placement.ts';
import type { SweepSpecInput } from '../harness/spec/types.ts';

const grid: SweepSpecInput = {
  name: 'placed',
  description: 'two methods, two stages for inrank',
  axes: { method: ['full', 'inrank'] },
};

test('the executor and slurm block do not enter run ids or configs', () => {
  const plain = defineSweep(grid);
  const placed = defineSweep({
    ...grid,
    executor: 'slurm',
    slurm: { partition: 'gpu', gpus: 1, time: '4:00:00', mem: '64G', extraArgs: ['--qos=long'] },
    profiles: { smoke: { executor: 'local', slurm: { account: 'lab' } } },
  });
  const opts = { profile: 'smoke', runsDir: '/results/runs' };
  const [a, b] = [expandSweep(plain, opts), expandSweep(placed, opts)];
  assert.equal(a.length, 3);
  assert.deepEqual(b.map((p) => p.id), a.map((p) => p.id));
  assert.deepEqual(b.map((p) => p.config), a.map((p) => p.config));
  for (const p of b) assert.ok(!JSON.stringify(p.config).includes('gpu'), 'no slurm option in a run config');
});

test('layers: the spec, then its block for the profile, key by key; none named: null', () => {
  const spec = defineSweep({
    ...grid,
    executor: 'slurm',
    slurm: { partition: 'gpu', gpus: 1, extraArgs: ['--qos=long'] },
    profiles: {
      cpu: { executor: 'local' },
      smoke: { slurm: { partition: 'debug', cpus: 2 } },
      tiny: { extends: 'smoke', slurm: { extraArgs: [] } },
    },
  });
  assert.deepEqual(placementOf(spec, 'smoke'), { executor: 'slurm', slurm: { partition: 'debug', gpus: 1, cpus: 2, extraArgs: ['--qos=long'] } });
  assert.deepEqual(placementOf(spec, 'cpu'), { executor: 'local', slurm: { partition: 'gpu', gpus: 1, extraArgs: ['--qos=long'] } });
  assert.deepEqual(placementOf(spec, 'tiny'), { executor: 'slurm', slurm: { partition: 'gpu', gpus: 1, extraArgs: [] } });
  assert.deepEqual(placementOf(defineSweep(grid), 'smoke'), { executor: null, slurm: {} });
});

test('a mistaken placement is one line naming the key', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ executor: 'kubernetes' }, /^sweep spec placed: executor: Invalid option/],
    [{ slurm: { gres: 'gpu:1' } }, /^sweep spec placed: slurm\.gres: unknown key/],
    [{ slurm: { time: 'a day' } }, /^sweep spec placed: slurm\.time: a Slurm time limit/],
    [{ slurm: { gpus: -1 } }, /^sweep spec placed: slurm\.gpus: /],
    [{ profiles: { smoke: { slurm: { mem: 'much' } } } }, /^sweep spec placed: profiles\.smoke\.slurm\.mem: a size such as 16G/],
  ];
  for (const [extra, says] of cases) {
    assert.throws(() => defineSweep({ ...grid, ...extra } as SweepSpecInput), (err: Error) => {
      assert.equal(err.name, 'UserError');
      assert.match(err.message, says);
      assert.equal(err.message.split('\n').length, 1);
      return true;
    });
  }
  assert.throws(() => defineProfiles({ p: { description: 'x', models: { m: { nEmbd: 8, nHead: 1, nLayer: 1, lr: 1e-3, microBatch: 1, fixedRank: 1 } }, base: {}, executor: 'slurm', slurm: { cpus: 0 } } }), /profile p: slurm\.cpus/);
});
