// The shapes of sweep specs and profiles: what a file in experiments/ writes, checked by tsc.
import type { RunConfig, RunConfigInput } from '../contract/config.ts';
import type { ConfigPath, ConfigPathValue } from './paths.ts';
import type { SearchSpec } from './search-space.ts';

export type Method = RunConfig['method'];
export type PrecisionKind = RunConfig['precision']['kind'];

/** Settings layered onto a run config: any part of RunConfig except what the harness fills in. */
export type ConfigPatch = Omit<RunConfigInput, 'name' | 'outDir' | 'resume'>;

/**
 * Axes of the grid. `model` names a model of the profile (gpt2, gpt2-medium, gpt2-large),
 * `precision` is precision.kind; any other key is a RunConfig dot path.
 */
export type Axes = {
  readonly model?: readonly string[];
  readonly precision?: readonly PrecisionKind[];
} & { readonly [P in ConfigPath]?: readonly ConfigPathValue<P>[] };

type OneOrMany<T> = T | readonly T[];

/**
 * A partial assignment of axes (or any resolved setting, or the seed). A key matches when the
 * run's value equals the given value or one of the given values.
 */
export type Rule = {
  readonly model?: OneOrMany<string>;
  readonly precision?: OneOrMany<PrecisionKind>;
  readonly seed?: OneOrMany<number>;
} & { readonly [P in ConfigPath]?: OneOrMany<ConfigPathValue<P>> };

/** Seeds for the runs a rule matches (the first matching rule wins). */
export interface SeedRule {
  readonly match: Rule;
  readonly seeds: readonly number[];
}

/** What one model name means in a profile: its sizes and its per-model training settings. */
export interface ModelSettings {
  readonly nEmbd: number;
  readonly nHead: number;
  readonly nLayer: number;
  readonly lr: number;
  /** Sequences per forward pass (gradient accumulation fills train.globalBatch). */
  readonly microBatch: number;
  /** The fixed-rank baseline's rank for both MLP linears. */
  readonly fixedRank: number;
}

/** Where a sweep's runs run: on this machine's devices, or as Slurm batch jobs. */
export type ExecutorName = 'local' | 'slurm';

/**
 * What each run asks of a Slurm cluster (the sbatch options of --executor slurm). Command-line
 * flags override these key by key.
 */
export interface SlurmSettings {
  readonly partition?: string;
  readonly account?: string;
  /** Time limit per job: 90, 4:00:00, 2-00:00:00. */
  readonly time?: string;
  /** GPUs per run (--gres=gpu:N). */
  readonly gpus?: number;
  readonly cpus?: number;
  /** Memory per run: 64G, 4000M. */
  readonly mem?: string;
  /** Further sbatch arguments, as given; replaces (not extends) extraArgs of a layer below. */
  readonly extraArgs?: readonly string[];
}

/**
 * Where the runs run, settable in a profile, a spec or a spec's profile block. It never enters a
 * run's config or id: the same training on a laptop or a cluster is the same run.
 */
export interface Placement {
  readonly executor?: ExecutorName;
  readonly slurm?: SlurmSettings;
}

/** Named settings shared by all specs: paper, cpu, smoke. */
export interface Profile extends Placement {
  readonly description: string;
  /** Model name -> sizes and settings; the first one is the model of runs that name none. */
  readonly models: Readonly<Record<string, ModelSettings>>;
  readonly base: ConfigPatch;
  /** Seeds when a spec names none; default: base train.seed. */
  readonly seeds?: readonly number[];
  /** What the machine must have for this profile (checked by checkProfileRequirements). */
  readonly requires?: { readonly gpuBackend?: boolean; readonly wikitext103?: boolean };
}

/** A spec's change to a shared profile, or (with `extends`) a new profile of its own. */
export interface ProfilePatch extends Placement {
  /** For a profile the shared registry lacks: the shared profile it starts from. */
  readonly extends?: string;
  readonly description?: string;
  readonly models?: Readonly<Record<string, Partial<ModelSettings>>>;
  readonly base?: ConfigPatch;
  /** Replaces these axes of the spec on this profile (e.g. buffer sizes scaled to the profile's widths). */
  readonly axes?: Axes;
  readonly seeds?: readonly number[];
  readonly seedsFor?: readonly SeedRule[];
  /** The search space on this profile, replacing the spec's distribution of each key it names. */
  readonly search?: { readonly space: SearchSpec['space'] };
}

/** How a method inrank run is carried out: stage 1 then stage 2 (the reference), or one run. */
export type Pipeline = 'two-stage' | 'single';

export interface SweepSpecInput extends Placement {
  /** Defaults to the file name when loaded from experiments/. */
  readonly name?: string;
  readonly description: string;
  /** Applied after the profile (and its model settings), before the axes. */
  readonly base?: ConfigPatch;
  readonly axes: Axes;
  /** Extra runs beyond the grid: each names some axes (lists expand); the rest come from the profile and base. */
  readonly include?: readonly Rule[];
  /** Grid cells to drop (applied to the grid, not to `include`). */
  readonly exclude?: readonly Rule[];
  readonly seeds?: readonly number[];
  readonly seedsFor?: readonly SeedRule[];
  readonly pipeline?: Pipeline;
  readonly profiles?: Readonly<Record<string, ProfilePatch>>;
  /** Settings drawn trial by trial (random or TPE, with ASHA) instead of listed; `npm run sweep <spec>` runs the search. */
  readonly search?: SearchSpec;
}

declare const sweepBrand: unique symbol;

/** A validated spec (only defineSweep makes one). */
export type SweepSpec = SweepSpecInput & { readonly name: string; readonly [sweepBrand]: true };
