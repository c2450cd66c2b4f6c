// Profiles: which named settings a sweep runs under, the default choice for this machine, and
// what a profile needs before it can run.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { profiles as sharedProfiles } from '../../experiments/profiles.ts';
import { UserError } from '../contract/errors.ts';
import { didYouMean } from './closest.ts';
import type { Distribution } from './search-space.ts';
import type { Axes, ConfigPatch, ModelSettings, Placement, Profile, SeedRule, SweepSpec } from './types.ts';

export interface MachineEnv {
  /** A tensor backend that runs on a GPU is here: tfjs-node-gpu with CUDA, or WebGPU on a hardware adapter. */
  gpuBackend: boolean;
  /** The WikiText-103 folder (with wiki.train.raw ...) when one was found, else null. */
  wikitext103: string | null;
}

/** A profile as one spec sees it: the shared one with the spec's patch applied. */
export interface EffectiveProfile {
  name: string;
  description: string;
  models: Record<string, ModelSettings>;
  /** The shared profile's base settings. */
  base: ConfigPatch;
  /** The spec's settings for this profile (applied after the spec's own base). */
  patchBase: ConfigPatch;
  /** Axes the spec replaces on this profile. */
  axes: Axes;
  /** The spec's seeds for this profile (null = it names none). */
  seeds: readonly number[] | null;
  /** The shared profile's seeds, for specs that name none. */
  sharedSeeds: readonly number[] | null;
  seedsFor: readonly SeedRule[];
  /** The spec's search space for this profile (key by key over the spec's own). */
  searchSpace: Readonly<Record<string, Distribution>>;
  requires: NonNullable<Profile['requires']>;
  /** Where the shared profile's runs run (executor, slurm), and the spec's choice for this profile. */
  sharedPlacement: Placement;
  patchPlacement: Placement;
}

export const WIKITEXT_FILES = ['wiki.train.raw', 'wiki.valid.raw', 'wiki.test.raw'] as const;
const WIKITEXT_TOKEN_FILES = ['wiki.train.tokens', 'wiki.valid.tokens', 'wiki.test.tokens'] as const;

/** The folder when it holds WikiText-103's three splits (raw, or the tokens layout), else null. */
export function findWikitext103(dir: string | null | undefined): string | null {
  if (!dir) return null;
  const abs = resolve(dir);
  const has = (files: readonly string[]) => files.every((f) => existsSync(join(abs, f)));
  return has(WIKITEXT_FILES) || has(WIKITEXT_TOKEN_FILES) ? abs : null;
}

/**
 * paper where a GPU backend and WikiText-103 are both present; gpu-smoke (the real shapes on the
 * Brown corpus, briefly) with a GPU backend and no data; else cpu. With a one-line reason.
 */
export function chooseDefaultProfile(env: MachineEnv): { profile: string; reason: string } {
  if (env.gpuBackend && env.wikitext103) {
    return { profile: 'paper', reason: `a GPU backend and WikiText-103 (${env.wikitext103}) are present` };
  }
  if (env.gpuBackend) {
    return { profile: 'gpu-smoke', reason: 'a GPU backend but no WikiText-103 (--data-dir), so the real shapes on the Brown corpus with tiny budgets (--profile gpu or paper with --data-dir for the paper\'s data)' };
  }
  const missing = [!env.gpuBackend && 'no GPU backend', !env.wikitext103 && 'no WikiText-103 (--data-dir)'].filter(Boolean);
  return { profile: 'cpu', reason: `${missing.join(' and ')}, so the paper's experiments scaled for CPU (--profile paper needs both)` };
}

/** Every profile name a spec can run under: the shared ones and the spec's own. */
export function profileNames(spec?: SweepSpec): string[] {
  const names = new Set(Object.keys(sharedProfiles));
  for (const [name, patch] of Object.entries(spec?.profiles ?? {})) {
    if (patch.extends || name in sharedProfiles) names.add(name);
  }
  return [...names];
}

/** The shared profile with the spec's patch applied. Unknown name: UserError with the closest. */
export function resolveProfile(name: string, spec?: SweepSpec): EffectiveProfile {
  const patch = spec?.profiles?.[name];
  const parentName = name in sharedProfiles ? name : patch?.extends;
  const shared: Profile | undefined = parentName ? (sharedProfiles as Record<string, Profile>)[parentName] : undefined;
  if (!shared) {
    const known = profileNames(spec);
    if (patch?.extends) throw new UserError(`profile ${name} extends '${patch.extends}', which is not a profile${didYouMean(patch.extends, known)}`);
    throw new UserError(`unknown profile '${name}'${didYouMean(name, known)}; profiles: ${known.join(', ')}`);
  }
  const models: Record<string, ModelSettings> = { ...shared.models };
  for (const [model, settings] of Object.entries(patch?.models ?? {})) {
    const prev = models[model];
    const merged = { ...prev, ...settings };
    const complete = ['nEmbd', 'nHead', 'nLayer', 'lr', 'microBatch', 'fixedRank'].every((k) => k in merged);
    if (!complete) throw new UserError(`profile ${name}: models.${model}: a new model needs nEmbd, nHead, nLayer, lr, microBatch and fixedRank`);
    models[model] = merged as ModelSettings;
  }
  return {
    name,
    description: patch?.description ?? shared.description,
    models,
    base: shared.base,
    patchBase: patch?.base ?? {},
    axes: patch?.axes ?? {},
    seeds: patch?.seeds ?? null,
    sharedSeeds: shared.seeds ?? null,
    seedsFor: patch?.seedsFor ?? [],
    searchSpace: (patch?.search?.space ?? {}) as Record<string, Distribution>,
    requires: shared.requires ?? {},
    sharedPlacement: { executor: shared.executor, slurm: shared.slurm },
    patchPlacement: { executor: patch?.executor, slurm: patch?.slurm },
  };
}

/**
 * Refuses a profile this machine cannot run, in one line saying what is missing and what to
 * do. Only `paper` requires anything today (a GPU backend and WikiText-103).
 */
export function checkProfileRequirements(profile: string, env: MachineEnv, spec?: SweepSpec): void {
  const { requires } = resolveProfile(profile, spec);
  const missing: string[] = [];
  if (requires.gpuBackend && !env.gpuBackend) {
    missing.push('a GPU backend (WebGPU on a hardware GPU, see README "On a GPU", or @tensorflow/tfjs-node-gpu with CUDA; none starts here)');
  }
  if (requires.wikitext103 && !env.wikitext103) {
    missing.push(`WikiText-103 (pass --data-dir DIR with ${WIKITEXT_FILES.join(', ')})`);
  }
  if (missing.length) {
    throw new UserError(`profile ${profile} needs ${missing.join(' and ')}; or run the scaled-down experiments with --profile cpu`);
  }
}
