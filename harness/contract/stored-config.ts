// Reading a run's config back from storage: the one place where defaults are filled and dot
// paths are read. A config stored by this version parses as it is; one stored by an older
// version (a setting renamed, a value a newer schema refuses) still reads: its stored settings
// win, and what it lacks is filled once, here.
// What a missing setting is filled with is what the run actually ran with. For most settings
// that is today's default (the behaviour did not change when the setting appeared). Three
// settings came with a change of behaviour (the defaults became the reference's: embeddings not
// decayed, exact-erf GELU for the low-rank models, evaluation passes on the InRank counter), so a
// config stored before them did the opposite, and reads with that (SETTINGS_ADDED_LATER).
import { runConfigSchema, type RunConfig } from './config.ts';

/** Every setting at its default: the bottom layer of every config. */
export const DEFAULT_RUN_CONFIG: Readonly<RunConfig> = runConfigSchema.parse({});

/** A setting whose default changed behaviour when it was added, and what runs stored without it did. */
export interface LaterSetting {
  path: readonly [string, string];
  /** What a run stored without the key did. */
  before: boolean | string;
}

export const SETTINGS_ADDED_LATER: readonly LaterSetting[] = [
  { path: ['train', 'decayEmbeddings'], before: true },
  { path: ['model', 'activation'], before: 'gelu-tanh' },
  { path: ['inrank', 'countEvalPasses'], before: false },
];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** base with over's values laid over it, group by group (over's keys win, even unknown ones). */
function layered(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isPlainObject(value) && isPlainObject(base[key]) ? layered(base[key], value) : value;
  }
  return out;
}

/** The settings a stored config lacks among SETTINGS_ADDED_LATER, with the values the run ran with. */
export function missingLaterSettings(config: unknown): { key: string; value: boolean | string }[] {
  const root = isPlainObject(config) ? config : {};
  return SETTINGS_ADDED_LATER.flatMap(({ path: [section, key], before }) => {
    const sec = root[section];
    return isPlainObject(sec) && key in sec ? [] : [{ key: `${section}.${key}`, value: before }];
  });
}

/** The stored config with the SETTINGS_ADDED_LATER it lacks set to their old behaviour. */
function withOldBehaviour(raw: Record<string, unknown>): Record<string, unknown> {
  const filled: Record<string, unknown> = { ...raw };
  for (const { path: [section, key], before } of SETTINGS_ADDED_LATER) {
    const sec = filled[section];
    const obj = isPlainObject(sec) ? sec : {};
    if (!(key in obj)) filled[section] = { ...obj, [key]: before };
  }
  return filled;
}

/** A config (possibly partial or old-shaped) with today's defaults under its settings; never throws. */
export function withTodaysDefaults(raw: unknown): RunConfig {
  const parsed = runConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  return layered(DEFAULT_RUN_CONFIG as unknown as Record<string, unknown>, isPlainObject(raw) ? raw : {}) as unknown as RunConfig;
}

/**
 * A stored config (JSON text or the parsed object) with what the run ran with filled in: the
 * SETTINGS_ADDED_LATER it lacks at their old behaviour, today's defaults for the rest. Never
 * throws on an old shape. Empty text (nothing stored, so nothing dates it) reads as the defaults.
 */
export function readStoredConfig(stored: string | unknown): RunConfig {
  if (stored === '') return withTodaysDefaults({});
  const raw: unknown = typeof stored === 'string' ? JSON.parse(stored) : stored;
  return withTodaysDefaults(isPlainObject(raw) ? withOldBehaviour(raw) : raw);
}

/** Reads a dot path ('inrank.explainedRatio', 'method') from a (possibly partial) config; undefined where absent. */
export function configValue(config: unknown, path: string | readonly string[]): unknown {
  let node: unknown = config;
  for (const part of typeof path === 'string' ? path.split('.') : path) {
    if (!isPlainObject(node)) return undefined;
    node = node[part];
  }
  return node;
}
