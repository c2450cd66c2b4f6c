// Reading a run's config back from storage: the one place where defaults are filled and dot
// paths are read. A config stored by this version parses as it is; one stored by an older
// version (a setting renamed, a value a newer schema refuses) still reads: its stored settings
// win, and only what it lacks comes from today's defaults (a run stored before a setting
// existed ran at that setting's default).
import { runConfigSchema, type RunConfig } from './config.ts';

/** Every setting at its default: the bottom layer of every config. */
export const DEFAULT_RUN_CONFIG: Readonly<RunConfig> = runConfigSchema.parse({});

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

/** A stored config (JSON text or the parsed object) with defaults filled; never throws on an old shape. */
export function readStoredConfig(stored: string | unknown): RunConfig {
  const raw: unknown = typeof stored === 'string' ? (stored === '' ? {} : JSON.parse(stored)) : stored;
  const parsed = runConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  return layered(DEFAULT_RUN_CONFIG as unknown as Record<string, unknown>, isPlainObject(raw) ? raw : {}) as unknown as RunConfig;
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
