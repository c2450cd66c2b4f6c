// Helpers for ablation grids whose values depend on the profile's scale (a buffer of 100 modes
// means something at width 768, nothing at width 96): a grid is written once as factors of the
// profile's own setting and becomes per-profile lists here.
import { profiles } from './profiles.ts';

type ProfileName = keyof typeof profiles;
type InRankKey = 'bufferModes' | 'warmupIter' | 'gapIter';

/** The profile's InRank setting times each factor, rounded, at least `min`, without repeats. */
export function scaledInRank(profile: ProfileName, key: InRankKey, factors: readonly number[], min = 1): number[] {
  const inrank = profiles[profile].base.inrank as Record<InRankKey, number>;
  return [...new Set(factors.map((f) => Math.max(min, Math.round(inrank[key] * f))))];
}

/** The same per-profile axis for every shared profile, ready for a spec's `profiles` block. */
export function perProfileAxis<K extends string>(axis: K, values: (profile: ProfileName) => number[]) {
  return Object.fromEntries(
    (Object.keys(profiles) as ProfileName[]).map((p) => [p, { axes: { [axis]: values(p) } as Record<K, number[]> }]),
  ) as Record<ProfileName, { axes: Record<K, number[]> }>;
}
