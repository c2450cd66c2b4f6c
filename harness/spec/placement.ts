// Where a sweep's runs run, as its spec and profile say: layered like settings (shared profile
// -> spec -> the spec's block for this profile), and overridden by the command line. Kept apart
// from run configs on purpose: the executor and its sbatch options never change what a run is,
// so they never enter its config or its id.
import { resolveProfile } from './profile.ts';
import type { ExecutorName, Placement, SlurmSettings, SweepSpec } from './types.ts';

export interface ResolvedPlacement {
  /** null: neither the spec nor the profile names one (the CLI's default applies). */
  executor: ExecutorName | null;
  /** Slurm options from the layers, key by key (a later layer's key wins). */
  slurm: SlurmSettings;
}

export function placementOf(spec: SweepSpec, profile: string): ResolvedPlacement {
  const effective = resolveProfile(profile, spec);
  const layers: Placement[] = [effective.sharedPlacement, { executor: spec.executor, slurm: spec.slurm }, effective.patchPlacement];
  let executor: ExecutorName | null = null;
  let slurm: SlurmSettings = {};
  for (const layer of layers) {
    executor = layer.executor ?? executor;
    slurm = { ...slurm, ...definedOnly(layer.slurm ?? {}) };
  }
  return { executor, slurm };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The layered settings block a spec and profile keep for one executor (`slurm: {...}`); empty for one without. */
export function executorBlock(placement: ResolvedPlacement, executor: string): Record<string, unknown> {
  return executor === 'slurm' ? { ...placement.slurm } : {};
}
