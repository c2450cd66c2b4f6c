// A spec's `search` block: instead of listing values on a grid, some settings are drawn from
// distributions, trial after trial, by a strategy (random or TPE), within a budget, scored by a
// metric; ASHA may stop losing trials early. Declared in a spec with the helpers below:
//   search: { space: { 'inrank.explainedRatio': uniform(0.5, 0.95) }, trials: 12, metric: { value: 'test_ppl' } }
import { z } from 'zod';
import { UserError } from '../contract/errors.ts';
import { didYouMean } from './closest.ts';
import { CONFIG_PATHS, isConfigPath, type ConfigPath } from './paths.ts';
import { settingKind } from './setting-kind.ts';

export type ChoiceValue = string | number | boolean;

export type Distribution =
  | { readonly kind: 'uniform'; readonly low: number; readonly high: number }
  | { readonly kind: 'log-uniform'; readonly low: number; readonly high: number }
  /** Whole numbers low..high (both included) on a grid of `step`. */
  | { readonly kind: 'int'; readonly low: number; readonly high: number; readonly step?: number }
  | { readonly kind: 'choice'; readonly values: readonly ChoiceValue[] };

export const uniform = (low: number, high: number): Distribution => ({ kind: 'uniform', low, high });
export const logUniform = (low: number, high: number): Distribution => ({ kind: 'log-uniform', low, high });
export const int = (low: number, high: number, step = 1): Distribution => ({ kind: 'int', low, high, step });
export const choice = (...values: ChoiceValue[]): Distribution => ({ kind: 'choice', values });

export type SearchStrategy = 'random' | 'tpe';
export const SEARCH_STRATEGIES: readonly SearchStrategy[] = ['random', 'tpe'];

/** What a trial is scored by: a final metric of its last run (stage 2 for InRank). */
export interface SearchMetric {
  /** test_ppl (default), valid_ppl (the last validation), best_valid_ppl. */
  readonly value?: 'test_ppl' | 'valid_ppl' | 'best_valid_ppl';
  readonly direction?: 'minimize' | 'maximize';
  /** Perplexity at a parameter budget: a trial whose model ends larger than this scores nothing (ranked last). */
  readonly maxParams?: number;
}

/** Asynchronous successive halving: rungs at minTokens x reductionFactor^k training tokens. */
export interface AshaSpec {
  readonly kind: 'asha';
  /**
   * Tokens of the first rung (a stage 2 counts its stage 1's tokens). Default: the full budget /
   * factor^2 on the validation cadence, and for InRank no earlier than the first validation after stage 1.
   */
  readonly minTokens?: number;
  /** Keep the top 1/factor at each rung (default 3). */
  readonly reductionFactor?: number;
}

export interface SearchSpec {
  /** Setting (dot path) -> distribution. A setting may not be both an axis and searched. */
  readonly space: { readonly [P in ConfigPath]?: Distribution };
  /** How many trials (each trial is one run, or stage 1 + stage 2 for InRank). */
  readonly trials: number;
  /** Trials in flight at once (default 2). Part of what the search is: trial i sees the trials up to i - maxParallel. */
  readonly maxParallel?: number;
  readonly metric?: SearchMetric;
  /** The strategy's random seed (default 0). */
  readonly seed?: number;
  /** Default strategy (tpe); --search overrides. */
  readonly strategy?: SearchStrategy;
  /** TPE: random trials before it models the results (default: a quarter of the trials, 3 to 10). */
  readonly startupTrials?: number;
  /** Early stopping; --early-stop asha|none overrides. */
  readonly earlyStop?: AshaSpec | null;
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const distribution = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('uniform'), low: finite, high: finite }),
  z.strictObject({ kind: z.literal('log-uniform'), low: finite.refine((x) => x > 0, 'log-uniform needs low > 0'), high: finite }),
  z.strictObject({ kind: z.literal('int'), low: z.number().int(), high: z.number().int(), step: z.number().int().positive().optional() }),
  z.strictObject({ kind: z.literal('choice'), values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1, 'choice needs at least one value') }),
]);

export const searchSchema = z.strictObject({
  space: z.record(z.string(), distribution).refine((s) => Object.keys(s).length > 0, 'search one setting at least'),
  trials: z.number().int().positive(),
  maxParallel: z.number().int().positive().optional(),
  metric: z
    .strictObject({
      value: z.enum(['test_ppl', 'valid_ppl', 'best_valid_ppl']).optional(),
      direction: z.enum(['minimize', 'maximize']).optional(),
      maxParams: z.number().positive().optional(),
    })
    .optional(),
  seed: z.number().int().optional(),
  strategy: z.enum(['random', 'tpe']).optional(),
  startupTrials: z.number().int().nonnegative().optional(),
  earlyStop: z
    .strictObject({ kind: z.literal('asha'), minTokens: z.number().positive().optional(), reductionFactor: z.number().gt(1).optional() })
    .nullable()
    .optional(),
});

/** Checks what zod cannot: the settings exist, bounds are ordered, values fit the setting's type. */
export function checkSearchSpace(space: Record<string, Distribution>, axes: readonly string[], where: string): void {
  for (const [path, d] of Object.entries(space)) {
    const at = `${where}.space.${path}`;
    if (!isConfigPath(path)) throw new UserError(`${at}: unknown setting${didYouMean(path, CONFIG_PATHS)}`);
    if (axes.includes(path)) throw new UserError(`${at}: is also an axis; search it or list it, not both`);
    const kind = settingKind(path);
    if (d.kind === 'choice') continue; // each value is checked when a trial's config is validated
    if (kind?.type !== 'number') throw new UserError(`${at}: ${d.kind} needs a numeric setting; use choice(...) for ${path}`);
    if (!(d.low < d.high)) throw new UserError(`${at}: low (${d.low}) must be below high (${d.high})`);
    if (d.kind === 'int' && (d.high - d.low) % (d.step ?? 1) !== 0) throw new UserError(`${at}: high - low must be a multiple of step`);
  }
}

/** The search block's settings with every default filled in. */
export interface ResolvedSearch {
  space: Record<string, Distribution>;
  trials: number;
  maxParallel: number;
  metric: Required<Pick<SearchMetric, 'value' | 'direction'>> & { maxParams: number | null };
  seed: number;
  strategy: SearchStrategy;
  startupTrials: number;
  earlyStop: { minTokens: number | null; reductionFactor: number } | null;
}

export interface SearchOverrides {
  strategy?: SearchStrategy;
  /** 'asha' turns early stopping on (with the spec's settings or the defaults), 'none' off. */
  earlyStop?: 'asha' | 'none';
  trials?: number;
  maxParallel?: number;
}

export function resolveSearch(search: SearchSpec, cli: SearchOverrides = {}): ResolvedSearch {
  const trials = cli.trials ?? search.trials;
  const asha = cli.earlyStop === 'none' ? null : (search.earlyStop ?? (cli.earlyStop === 'asha' ? { kind: 'asha' as const } : null));
  return {
    space: search.space as Record<string, Distribution>,
    trials,
    maxParallel: cli.maxParallel ?? search.maxParallel ?? 2,
    metric: { value: search.metric?.value ?? 'test_ppl', direction: search.metric?.direction ?? 'minimize', maxParams: search.metric?.maxParams ?? null },
    seed: search.seed ?? 0,
    strategy: cli.strategy ?? search.strategy ?? 'tpe',
    // From the spec's budget, not --trials: raising the budget on the command line continues the same search.
    startupTrials: search.startupTrials ?? Math.min(10, Math.max(3, Math.round(search.trials / 4))),
    earlyStop: asha ? { minTokens: asha.minTokens ?? null, reductionFactor: asha.reductionFactor ?? 3 } : null,
  };
}

/** One line per searched setting, for --dry-run and show. */
export function describeDistribution(d: Distribution): string {
  switch (d.kind) {
    case 'uniform':
      return `uniform(${d.low}, ${d.high})`;
    case 'log-uniform':
      return `log-uniform(${d.low}, ${d.high})`;
    case 'int':
      return `int(${d.low}, ${d.high}${d.step && d.step !== 1 ? `, step ${d.step}` : ''})`;
    case 'choice':
      return `choice(${d.values.map((v) => JSON.stringify(v)).join(', ')})`;
  }
}
