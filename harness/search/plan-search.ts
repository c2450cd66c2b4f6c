// From a spec with a `search` block (and --search / --early-stop / --trials) to what the search
// driver needs: the resolved settings, ASHA's rungs, how one trial's settings expand into runs,
// and the key that names the search in the store.
import { createHash } from 'node:crypto';
import { UserError } from '../contract/errors.ts';
import { expandSweep, type ExpandOptions } from '../spec/expand.ts';
import type { RunPlan } from '../spec/plan.ts';
import { canonicalJson } from '../spec/run-id.ts';
import { resolveSearch, type ResolvedSearch, type SearchOverrides } from '../spec/search-space.ts';
import type { SweepSpec } from '../spec/types.ts';
import { resolveProfile } from '../spec/profile.ts';
import { evalEveryForRungs, rungsOf } from './asha.ts';
import { budgetTokens, tokensPerStep, type AshaConfig } from './asha-monitor.ts';
import type { Params } from './sampler.ts';

export interface SearchPlan {
  search: ResolvedSearch;
  asha: AshaConfig | null;
  /** ASHA's rung boundaries in tokens for the probe trial (empty without ASHA). */
  rungs: number[];
  /** The validation cadence the trials get so that a validation falls on every rung. */
  evalEvery: number | null;
  key: string;
  /** One trial's runs for its settings. */
  expand: (params: Params) => RunPlan[];
  /** The runs of a trial at the profile's own values of the searched settings. */
  probe: RunPlan[];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The trial's chain (one run, or stage 1 + stage 2): a search needs exactly one per trial. */
function checkOneChain(spec: SweepSpec, probe: readonly RunPlan[]): void {
  const ends = probe.filter((p) => !probe.some((q) => q.dependsOn === p.id));
  if (ends.length === 1) return;
  throw new UserError(
    `spec ${spec.name}: a search trains one run (or InRank's two stages) per trial, but its axes and seeds give ${ends.length} per trial; ` +
      'give each axis one value (or one seed) and run one search per value',
  );
}

/**
 * ASHA's first rung: the spec's, else the budget / factor^2 rounded to the profile's validation
 * cadence, and for InRank's two stages no earlier than the first validation after stage 1 (while
 * ranks still grow, trials differ by noise; the ranks stage 2 trains with are what is searched).
 */
function resolveAsha(spec: SweepSpec, search: ResolvedSearch, probe: readonly RunPlan[]): { asha: AshaConfig; rungs: number[]; evalEvery: number } {
  const last = probe[probe.length - 1]!;
  const c = last.config;
  const budget = budgetTokens(c);
  if (budget === null) throw new UserError(`spec ${spec.name}: ASHA needs a token budget per trial; set train.maxSteps`);
  const tps = tokensPerStep(c);
  const factor = search.earlyStop!.reductionFactor;
  const every = c.train.evalEvery;
  const stage1 = probe.find((p) => p.config.stage.kind === 'stage1');
  const afterStage1 = stage1 ? (Math.floor(stage1.config.stage.stage1Steps / every) + 1) * every : 0;
  const minSteps = Math.max(every, Math.round(c.train.maxSteps! / factor ** 2 / every) * every, afterStage1);
  const asha = { minTokens: search.earlyStop!.minTokens ?? minSteps * tps, reductionFactor: factor };
  const rungs = rungsOf({ ...asha, maxTokens: budget });
  if (rungs.length === 0) {
    throw new UserError(`spec ${spec.name}: ASHA's first rung (${asha.minTokens} tokens) is at or past a trial's budget (${budget} tokens); lower earlyStop.minTokens`);
  }
  return { asha, rungs, evalEvery: gcd(every, evalEveryForRungs(rungs, tps)) };
}

/** null when the spec declares no search and no search flag is given. */
export function planSearch(spec: SweepSpec, flags: SearchOverrides, opts: ExpandOptions, probe: RunPlan[]): SearchPlan | null {
  if (!spec.search) {
    const flag = flags.strategy ? `--search ${flags.strategy}` : flags.earlyStop === 'asha' ? '--early-stop asha' : flags.trials ? '--trials' : null;
    if (flag) throw new UserError(`${flag}: spec ${spec.name} declares no search; add a search block (see experiments/search-explained-ratio.ts)`);
    return null;
  }
  const perProfile = resolveProfile(opts.profile, spec).searchSpace;
  const search = resolveSearch({ ...spec.search, space: { ...spec.search.space, ...perProfile } }, flags);
  checkOneChain(spec, probe);
  const last = probe[probe.length - 1]!;
  const ashaPlan = search.earlyStop ? resolveAsha(spec, search, probe) : null;
  const extra = ashaPlan && ashaPlan.evalEvery !== last.config.train.evalEvery ? [`train.evalEvery=${ashaPlan.evalEvery}`] : [];
  const expand = (params: Params): RunPlan[] => {
    const axes = { ...opts.axes };
    for (const [k, v] of Object.entries(params)) axes[k] = [v];
    return expandSweep(spec, { ...opts, axes, overrides: [...(opts.overrides ?? []), ...extra] });
  };
  const { trials: _trials, ...identity } = search; // more trials extend the same search
  const probeRuns = expand({});
  const key = createHash('sha256')
    .update(canonicalJson({ spec: spec.name, profile: probe[0]!.profile, identity, asha: ashaPlan?.asha ?? null, probe: probeRuns.map((p) => p.id) }))
    .digest('hex')
    .slice(0, 16);
  return { search, asha: ashaPlan?.asha ?? null, rungs: ashaPlan?.rungs ?? [], evalEvery: ashaPlan?.evalEvery ?? null, key, expand, probe: probeRuns };
}
