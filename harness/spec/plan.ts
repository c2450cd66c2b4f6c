// A run plan: one training run as a sweep expands it, before anything runs.
// The spec layer produces plans; the scheduler and the store consume them.
import type { RunConfig } from '../contract/config.ts';

export interface RunPlan {
  /** Stable id: hash of the normalized resolved config (paths and display names excluded; a stage 2 includes its stage 1's id). */
  id: string;
  /** Readable, unique within a sweep: e.g. gpt2-inrank-fp32-er0.8-s1113-stage2. */
  name: string;
  /** The config the child gets; outDir and stage.from are filled for the results folder in use. */
  config: RunConfig;
  profile: string;
  seed: number;
  /** The axis values that made this run (dot path or axis name -> value), for reports and --filter. */
  axes: Record<string, string | number | boolean>;
  /** The run whose output this one needs (stage 2 -> its stage 1), or null. */
  dependsOn: string | null;
  /** Relative expected cost (training FLOPs of the whole run); the scheduler starts the longest first. */
  expectedCost: number;
}
