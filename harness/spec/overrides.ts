// Command-line overrides, `key=value`: our dot paths (train.lr=3e-4) and the paper's Hydra
// names where they map (trainer.precision=16, model.mlp_cfg.linear1_cfg.init_modes=254), so a
// line copied from the paper's README works. Applied after the profile.
import { type RunConfig } from '../contract/config.ts';
import { UserError } from '../contract/errors.ts';
import { didYouMean } from './closest.ts';
import { CONFIG_PATHS, isConfigPath, parseCliValue, setPath } from './paths.ts';
import { parsePlannedConfig } from './resolve.ts';

type Converter = (value: unknown, key: string) => unknown;

interface PaperName {
  path: string;
  convert?: Converter;
}

const toPrecision: Converter = (value, key) => {
  const v = String(value);
  if (v === '16' || v === '16-mixed') return 'fp16';
  if (v === '32' || v === '32-true') return 'fp32';
  throw new UserError(`override ${key}=${v}: use 16 (fp16) or 32 (fp32)`);
};

// Lightning's max_steps -1 means "no step limit".
const toMaxSteps: Converter = (value) => (value === -1 ? null : value);

/** The reference's InRank keys (one block per MLP linear there; one shared block here). */
const LINEAR_KEYS: Record<string, string> = {
  explained_ratio_threshold: 'inrank.explainedRatio',
  init_modes: 'inrank.initModes',
  buffer_modes: 'inrank.bufferModes',
  warmup_iter: 'inrank.warmupIter',
  gap_iter: 'inrank.gapIter',
  init_scale: 'inrank.initScale',
};

export const PAPER_NAMES: Readonly<Record<string, PaperName>> = {
  'trainer.precision': { path: 'precision.kind', convert: toPrecision },
  // The reference ticks its InRank counter once per forward pass on each device, all devices in
  // step; on one device, N of our micro-batches make one of its ticks, so N devices -> N.
  'trainer.devices': { path: 'inrank.microBatchesPerTick' },
  'trainer.max_steps': { path: 'train.maxSteps', convert: toMaxSteps },
  'trainer.max_epochs': { path: 'train.maxEpochs' },
  seed: { path: 'train.seed' },
  'optimizer.lr': { path: 'train.lr' },
  'optimizer.weight_decay': { path: 'train.weightDecay' },
  'datamodule.batch_size': { path: 'train.microBatch' },
  'train.global_batch_size': { path: 'train.globalBatch' },
  ...Object.fromEntries(
    ['linear1_cfg', 'linear2_cfg'].flatMap((linear) =>
      Object.entries(LINEAR_KEYS).map(([key, path]) => [`model.mlp_cfg.${linear}.${key}`, { path }]),
    ),
  ),
};

/** Every key an override may use: our dot paths, then the paper's names. */
export const OVERRIDE_KEYS: readonly string[] = [...CONFIG_PATHS, ...Object.keys(PAPER_NAMES)];

const HARNESS_OWNED = new Set(['name', 'outDir', 'resume', 'stage.from', 'stage.kind']);

export { parseCliValue as parseOverrideValue } from './paths.ts';
/** --filter lives beside the overrides on the command line; the code is in filter.ts. */
export { filterPlans } from './filter.ts';

export interface ParsedOverride {
  /** The key as typed. */
  key: string;
  /** The RunConfig dot path it sets. */
  path: string;
  value: unknown;
}

/** Parses `key=value` lines into config paths and values; every mistake is one UserError line. */
export function parseOverrides(lines: readonly string[]): ParsedOverride[] {
  const parsed: ParsedOverride[] = [];
  const linearValues = new Map<string, { key: string; value: unknown }>();
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new UserError(`override '${line}': expected key=value, e.g. train.lr=3e-4`);
    const key = line.slice(0, eq).trim().replace(/^\+\+?/, ''); // Hydra's + / ++ prefixes
    const raw = parseCliValue(line.slice(eq + 1).trim());
    const paper = PAPER_NAMES[key];
    if (!paper && !isConfigPath(key)) throw new UserError(`unknown override key '${key}'${didYouMean(key, OVERRIDE_KEYS)}`);
    const path = paper?.path ?? key;
    if (HARNESS_OWNED.has(path)) throw new UserError(`override ${key}: set by the harness, not by an override`);
    const value = paper?.convert ? paper.convert(raw, key) : raw;
    if (key.startsWith('model.mlp_cfg.')) {
      const prev = linearValues.get(path);
      if (prev && prev.key !== key && JSON.stringify(prev.value) !== JSON.stringify(value)) {
        throw new UserError(
          `override ${key}=${JSON.stringify(value)} differs from ${prev.key}=${JSON.stringify(prev.value)}: ` +
            `this harness has one InRank setting (${path}) for both MLP linears; give them the same value`,
        );
      }
      linearValues.set(path, { key, value });
    }
    parsed.push({ key, path, value });
  }
  return parsed;
}

/** Writes parsed overrides into a raw (unvalidated) config object, in order. */
export function writeOverrides(raw: Record<string, unknown>, parsed: readonly ParsedOverride[]): void {
  for (const { path, value } of parsed) setPath(raw, path, value);
}

/** The config with the overrides applied (later lines win) and validated again. */
export function applyOverrides(config: RunConfig, overrides: readonly string[]): RunConfig {
  if (overrides.length === 0) return config;
  const raw = structuredClone(config) as unknown as Record<string, unknown>;
  const parsed = parseOverrides(overrides);
  writeOverrides(raw, parsed);
  return parsePlannedConfig(raw, overrideContext(parsed));
}

export function overrideContext(parsed: readonly ParsedOverride[]): string {
  return `override ${parsed.map((p) => p.key).join(' ')}`;
}
