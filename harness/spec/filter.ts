// --filter key=value: keep the runs whose axes or resolved config match. Repeating a key (or
// key=a,b) matches any of its values; different keys must all match. A kept stage 2 keeps its
// stage 1, which it cannot run without.
import { UserError } from '../contract/errors.ts';
import { didYouMean } from './closest.ts';
import { CONFIG_PATHS, getPath, parseCliValue } from './paths.ts';
import type { RunPlan } from './plan.ts';

/** Keys a filter may use besides config dot paths and the sweep's own axis names. */
const FILTER_ALIASES: Record<string, (plan: RunPlan) => unknown> = {
  model: (p) => p.config.model.name,
  precision: (p) => p.config.precision.kind,
  seed: (p) => p.seed,
  stage: (p) => p.config.stage.kind,
  name: (p) => p.name,
  id: (p) => p.id,
  profile: (p) => p.profile,
};

/** The run's value for a rule / filter key: its axes first, then aliases, then the config. */
export function planValue(plan: RunPlan, key: string): unknown {
  if (key in plan.axes) return plan.axes[key];
  const alias = FILTER_ALIASES[key];
  return alias ? alias(plan) : getPath(plan.config, key);
}

/** Loose equality for values typed on a command line: 0.8 matches 0.8 and "0.8". */
export function valueMatches(actual: unknown, wanted: unknown): boolean {
  if (actual === wanted) return true;
  if (typeof actual === 'number' && typeof wanted === 'string') return actual === Number(wanted) && wanted.trim() !== '';
  return String(actual) === String(wanted);
}

export function filterPlans(plans: readonly RunPlan[], filters: readonly string[]): RunPlan[] {
  if (filters.length === 0) return [...plans];
  const wanted = new Map<string, unknown[]>();
  const known = [...Object.keys(FILTER_ALIASES), ...new Set(plans.flatMap((p) => Object.keys(p.axes))), ...CONFIG_PATHS];
  const knownSet = new Set(known);
  for (const line of filters) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new UserError(`filter '${line}': expected key=value, e.g. model=gpt2`);
    const key = line.slice(0, eq).trim();
    if (!knownSet.has(key)) throw new UserError(`unknown filter key '${key}'${didYouMean(key, known)}`);
    const values = line
      .slice(eq + 1)
      .split(',')
      .map((v) => parseCliValue(v.trim()));
    wanted.set(key, [...(wanted.get(key) ?? []), ...values]);
  }
  const matches = (plan: RunPlan) =>
    [...wanted].every(([key, values]) => values.some((v) => valueMatches(planValue(plan, key), v)));
  const keep = new Set(plans.filter(matches).map((p) => p.id));
  const byId = new Map(plans.map((p) => [p.id, p]));
  for (const id of [...keep]) {
    let dep = byId.get(id)?.dependsOn ?? null;
    while (dep && !keep.has(dep)) {
      keep.add(dep);
      dep = byId.get(dep)?.dependsOn ?? null;
    }
  }
  return plans.filter((p) => keep.has(p.id));
}
