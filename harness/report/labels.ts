// Names for the report's lines and legends, made only of what varies within the report. A run
// reused from another sweep carries that sweep's axes (a full-rank run from paper-table has no
// explained ratio), so a label reads each setting from the run's resolved config, never from
// its stored axes alone: two different runs never read the same, and nothing is cut.
import { configValue } from '../contract/stored-config.ts';
import type { AxisValue } from '../store/sweep-read.ts';
import type { Entry } from './entries.ts';
import { methodLabel } from './format.ts';

/** A dimension a label can show: a row column, a swept setting (dot path), or the seed. */
export type Dim = 'profile' | 'model' | 'method' | 'precision' | 'seed' | `axis:${string}`;

/** A scalar setting at a dot path of a config (or a profile's base), else undefined. */
export function valueAt(obj: unknown, path: string | readonly string[]): AxisValue | undefined {
  const v = configValue(obj, path);
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : undefined;
}

/**
 * An entry's value of a swept setting: its own axis value, else (InRank only: other methods do
 * not use InRank's settings) the value its config resolved to. undefined = not applicable.
 */
export function settingOf(e: Entry, path: string): AxisValue | undefined {
  if (path in e.axes) return e.axes[path];
  if (e.method !== 'inrank') return undefined;
  const run = e.final ?? e.stage1;
  // The read side filled today's defaults under the stored settings already.
  return run ? valueAt(run.config, path) : undefined;
}

function dimValue(e: Entry, d: Dim): AxisValue | undefined {
  if (d === 'profile') return e.profile;
  if (d === 'model') return e.model;
  if (d === 'method') return e.method;
  if (d === 'precision') return e.precision;
  if (d === 'seed') return e.seed;
  return settingOf(e, d.slice('axis:'.length));
}

/** Short text of one dimension's value: "gpt2", "InRank", "explainedRatio=0.8", "s1113". */
export function dimText(d: Dim, v: AxisValue): string {
  if (d === 'method') return methodLabel(String(v));
  if (d === 'seed') return `s${String(v)}`;
  if (d.startsWith('axis:')) return `${d.split('.').pop()!.replace(/^axis:/, '')}=${String(v)}`;
  return String(v);
}

export interface Labels {
  /** The dimensions that take more than one value among the entries, in reading order. */
  dims: Dim[];
  /** The entry's full name: every varying dimension. */
  full(e: Entry): string;
  /** The name without the given dimensions (e.g. without the seed for a colour, without the model inside a model's panel). */
  without(e: Entry, drop: Dim[]): string;
}

/** Labels for a set of entries: only dimensions whose values differ among them are named. */
export function labelsFor(entries: Entry[]): Labels {
  const axisKeys = [...new Set(entries.flatMap((e) => Object.keys(e.axes)))].sort();
  const candidates: Dim[] = ['profile', 'model', 'method', 'precision', ...axisKeys.map((k) => `axis:${k}` as Dim), 'seed'];
  const dims = candidates.filter((d) => new Set(entries.map((e) => JSON.stringify(dimValue(e, d) ?? null))).size > 1);
  const text = (e: Entry, shown: Dim[]): string => {
    const parts = shown.flatMap((d) => {
      const v = dimValue(e, d);
      return v === undefined ? [] : [dimText(d, v)];
    });
    // Everything alike: the method still names the line.
    return parts.length ? parts.join(' ') : methodLabel(e.method);
  };
  return {
    dims,
    full: (e) => text(e, dims),
    without: (e, drop) => text(e, dims.filter((d) => !drop.includes(d))),
  };
}
