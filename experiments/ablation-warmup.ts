// When rank determination starts (warmup_iter) and how often it runs (gap_iter), as multiples
// of the profile's own settings (paper: 200 and 25 ticks). Edit the two lists.
import { defineSweep } from '../harness/spec/define.ts';
import { profiles } from './profiles.ts';
import { scaledInRank } from './scale.ts';

const WARMUP_FACTORS = [0.5, 1, 2];
const GAP_FACTORS = [0.5, 1, 2];

type ProfileName = keyof typeof profiles;
const grid = (p: ProfileName) => ({
  'inrank.warmupIter': scaledInRank(p, 'warmupIter', WARMUP_FACTORS),
  'inrank.gapIter': scaledInRank(p, 'gapIter', GAP_FACTORS),
});

export default defineSweep({
  description: "InRank warmup_iter x gap_iter at 1/2, 1 and 2 times the profile's settings, on gpt2",
  axes: { model: ['gpt2'], method: ['inrank'], ...grid('paper') },
  profiles: Object.fromEntries((Object.keys(profiles) as ProfileName[]).map((p) => [p, { axes: grid(p) }])),
});
