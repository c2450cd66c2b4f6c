// Dot paths into RunConfig ('train.lr', 'inrank.explainedRatio', 'method'): the one vocabulary
// shared by spec axes, include / exclude rules, command-line overrides and --filter.
import type { RunConfig } from '../contract/config.ts';
import { configValue, DEFAULT_RUN_CONFIG } from '../contract/stored-config.ts';

type Group = keyof RunConfig & string;

/** Every leaf setting of a RunConfig by its dot path, checked by the compiler. */
export type ConfigPath = {
  [G in Group]: RunConfig[G] extends Record<string, unknown> ? `${G}.${keyof RunConfig[G] & string}` : G;
}[Group];

/** The value type a dot path holds. */
export type ConfigPathValue<P extends string> = P extends `${infer G}.${infer L}`
  ? G extends Group
    ? L extends keyof RunConfig[G]
      ? RunConfig[G][L]
      : never
    : never
  : P extends Group
    ? RunConfig[P]
    : never;

export type Scalar = string | number | boolean;

/** The config with every default: the bottom layer of a resolved run. */
export const DEFAULT_CONFIG: Readonly<RunConfig> = DEFAULT_RUN_CONFIG;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** All leaf dot paths, in the schema's order (derived from the defaults, so it never drifts from config.ts). */
export const CONFIG_PATHS: readonly string[] = Object.entries(DEFAULT_CONFIG).flatMap(([group, value]) =>
  isPlainObject(value) ? Object.keys(value).map((leaf) => `${group}.${leaf}`) : [group],
);
const CONFIG_PATH_SET = new Set(CONFIG_PATHS);

export function isConfigPath(key: string): key is ConfigPath {
  return CONFIG_PATH_SET.has(key);
}

/** Reads a dot path from a (possibly partial) config object; undefined where absent (contract's one reader). */
export const getPath = (config: unknown, path: string): unknown => configValue(config, path);

/** Writes a dot path into a plain config object, creating the group object when missing. */
export function setPath(config: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = config;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isPlainObject(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

/**
 * Deep merge of plain objects (later wins); arrays and scalars are replaced, never merged. The
 * result shares no object with the layers: each layer is copied into one fresh tree, once.
 */
export function deepMerge<T extends Record<string, unknown>>(...layers: Array<Record<string, unknown> | undefined>): T {
  const out: Record<string, unknown> = {};
  for (const layer of layers) if (layer) mergeInto(out, layer);
  return out as T;
}

/** Copies layer into target, which owns every plain object in it (so it is changed in place: linear, not quadratic). */
function mergeInto(target: Record<string, unknown>, layer: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    if (!isPlainObject(value)) {
      target[key] = value;
      continue;
    }
    const prev = target[key];
    const node = isPlainObject(prev) ? prev : (target[key] = {});
    mergeInto(node as Record<string, unknown>, value);
  }
}

export { isPlainObject };

/** A command-line value as JSON where it parses (3e-4, 8, true, null, "x"), else the raw string. */
export function parseCliValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
