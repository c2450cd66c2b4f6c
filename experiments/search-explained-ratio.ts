// Search instead of a grid: TPE over InRank's explained ratio, buffer and warmup on gpt2, with
// ASHA stopping the losing half of the trials at each rung once stage 1 is over. The buffer and warmup
// ranges are 1/4 to 2 times the profile's own settings (cpu: buffer 3-24 of 12, warmup 4-30 of
// 15 ticks), as the ablation grids scale theirs. Sized for the cpu profile: 16 trials of at most
// 300 steps, two at a time, about 30 minutes on two cores. Edit the space, the budget or the seed.
import { defineSweep } from '../harness/spec/define.ts';
import { int, uniform } from '../harness/spec/search-space.ts';
import { profiles } from './profiles.ts';
import { scaledInRank } from './scale.ts';

type ProfileName = keyof typeof profiles;

const space = (p: ProfileName) => {
  const [bufLow, bufHigh] = [scaledInRank(p, 'bufferModes', [0.25])[0]!, scaledInRank(p, 'bufferModes', [2])[0]!];
  const wuLow = scaledInRank(p, 'warmupIter', [0.25], 0)[0]!;
  // A profile without warmup (gpu-smoke: 0 ticks) still gets a range to draw from: 0 to 1 tick.
  const wuHigh = Math.max(wuLow + 1, scaledInRank(p, 'warmupIter', [2], 0)[0]!);
  return {
    'inrank.explainedRatio': uniform(0.5, 0.95),
    'inrank.bufferModes': int(bufLow, bufHigh),
    'inrank.warmupIter': int(wuLow, wuHigh),
  };
};

export default defineSweep({
  description: 'TPE over explained ratio, buffer and warmup of InRank on gpt2, with ASHA early stopping (cpu: about 30 minutes)',
  axes: { model: ['gpt2'], method: ['inrank'] },
  search: {
    space: space('paper'),
    trials: 16,
    maxParallel: 2,
    seed: 1113,
    strategy: 'tpe',
    metric: { value: 'test_ppl', direction: 'minimize' },
    // Rungs from the first validation after stage 1 (cpu: steps 100 and 200 of 300), keep the top half.
    earlyStop: { kind: 'asha', reductionFactor: 2 },
  },
  profiles: Object.fromEntries((Object.keys(profiles) as ProfileName[]).map((p) => [p, { search: { space: space(p) } }])),
});
