// Rank determinations off the training thread (inrank.determinationLag): does applying each
// rank a few ticks after its spectrum was measured change growth or perplexity? Lags are
// fractions of the profile's gap_iter, capped below it (paper 0 / 12 / 24, cpu 0 / 1).
import { defineSweep } from '../harness/spec/define.ts';
import { profiles } from './profiles.ts';
import { perProfileAxis } from './scale.ts';

const LAG_FRACTIONS = [0, 0.5, 1];

function lags(profile: keyof typeof profiles): number[] {
  const gap = (profiles[profile].base.inrank as { gapIter: number }).gapIter;
  return [...new Set(LAG_FRACTIONS.map((f) => Math.min(gap - 1, Math.round(f * gap))))];
}

export default defineSweep({
  description: 'InRank with rank determinations applied 0 ticks (the reference) up to gap_iter - 1 ticks after measurement, on gpt2',
  axes: { model: ['gpt2'], method: ['inrank'], 'inrank.determinationLag': lags('paper') },
  profiles: perProfileAxis('inrank.determinationLag', lags),
});
