// Hydra-style multirun on the command line: `key=a,b,c` or `key=range(start,stop,step)` defines
// an axis of the grid, or replaces the spec's axis of that key. Values are parsed as the
// setting's type (inrank.explainedRatio=0.7,0.8 gives numbers). `model=...`, `precision=...`
// and `seed=...` are axes even with one value; any other single `key=value` stays an override.
import { UserError } from '../contract/errors.ts';
import { didYouMean } from './closest.ts';
import { PAPER_NAMES, OVERRIDE_KEYS } from './overrides.ts';
import { isConfigPath, type Scalar } from './paths.ts';
import { parseTypedValue, settingKind, unquote } from './setting-kind.ts';

export type AxisValue = Scalar | null;

export interface CliAxis {
  /** The key as typed. */
  key: string;
  /** The axis it sets: 'model', 'precision', 'seed' or a RunConfig dot path. */
  axis: string;
  values: AxisValue[];
}

/** Keys that are always axes, even with one value (they pick cells, not settings). */
const ALIAS_AXES = new Set(['model', 'precision', 'seed']);
/** Settings that are really one of the alias axes. */
const PATH_TO_ALIAS: Record<string, string> = { 'precision.kind': 'precision', 'train.seed': 'seed' };
const HARNESS_OWNED = new Set(['name', 'outDir', 'resume', 'stage.from', 'stage.kind']);
/** Guard against range(0,1e9): a grid that large is a typo. */
const MAX_RANGE_VALUES = 10_000;

/** Splits on commas outside quotes, brackets and parentheses. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = '';
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

const keyOf = (line: string): string => line.slice(0, line.indexOf('=')).trim().replace(/^\+\+?/, '');
const valueOf = (line: string): string => line.slice(line.indexOf('=') + 1).trim();

/** Whether a `key=value` argument is an axis (a list, a range, or an alias key) rather than an override. */
export function isAxisArgument(line: string): boolean {
  if (line.indexOf('=') <= 0) return false;
  const value = valueOf(line);
  return ALIAS_AXES.has(keyOf(line)) || /^range\s*\(/.test(value) || splitTopLevel(value).length > 1;
}

/** Decimal places a number is written with (1e-3 -> 3, 0.05 -> 2, 2 -> 0). */
function decimalsOf(x: number): number {
  if (Number.isInteger(x)) return 0;
  const [mantissa, exp] = x.toExponential().split('e');
  const fraction = (mantissa!.split('.')[1] ?? '').length;
  return Math.max(0, fraction - Number(exp));
}

/**
 * Hydra's range(start, stop, step): Python's semantics (stop excluded; range(stop) and
 * range(start, stop) too). Float steps are rounded to the inputs' decimals so that
 * range(0.5,0.95,0.05) gives 0.55, not 0.5499999999999999.
 */
export function expandRange(args: string, where: string): number[] {
  const nums = splitTopLevel(args).map((a) => {
    const n = Number(a);
    if (a === '' || !Number.isFinite(n)) throw new UserError(`${where}: range() takes numbers, got '${a}'`);
    return n;
  });
  if (nums.length < 1 || nums.length > 3) throw new UserError(`${where}: use range(stop), range(start,stop) or range(start,stop,step)`);
  const [start, stop, step] = nums.length === 1 ? [0, nums[0]!, 1] : [nums[0]!, nums[1]!, nums[2] ?? 1];
  if (step === 0) throw new UserError(`${where}: range() step must not be 0`);
  const decimals = Math.max(decimalsOf(start), decimalsOf(step));
  const round = (x: number): number => Number(x.toFixed(Math.min(decimals, 15)));
  const slack = Math.abs(step) * 1e-9; // float error must not let the stop itself in
  const values: number[] = [];
  for (let i = 0; ; i++) {
    const v = round(start + i * step);
    if (step > 0 ? v >= stop - slack : v <= stop + slack) break;
    values.push(v);
    if (values.length > MAX_RANGE_VALUES) throw new UserError(`${where}: range() gives more than ${MAX_RANGE_VALUES} values; check start, stop and step`);
  }
  if (values.length === 0) throw new UserError(`${where}: range(${args}) is empty (the stop is excluded, as in Python and Hydra)`);
  return values;
}

/** The axis a key names, and how to turn its typed values into the axis's values. */
function resolveAxisKey(key: string, line: string): { axis: string; path: string | null; convert?: (v: unknown) => unknown } {
  if (ALIAS_AXES.has(key)) return { axis: key, path: key === 'seed' ? 'train.seed' : key === 'precision' ? 'precision.kind' : null };
  const paper = PAPER_NAMES[key];
  if (!paper && !isConfigPath(key)) throw new UserError(`axis '${line}': unknown key '${key}'${didYouMean(key, [...ALIAS_AXES, ...OVERRIDE_KEYS])}`);
  const path = paper?.path ?? key;
  if (HARNESS_OWNED.has(path)) throw new UserError(`axis ${key}: set by the harness, not on the command line`);
  const convert = paper?.convert;
  return { axis: PATH_TO_ALIAS[path] ?? path, path, ...(convert ? { convert: (v: unknown) => convert(v, key) } : {}) };
}

/** Parses one `key=a,b,c` / `key=range(...)` argument; every mistake is one UserError line. */
export function parseCliAxis(line: string): CliAxis {
  const key = keyOf(line);
  const text = valueOf(line);
  const where = `axis ${key}`;
  const { axis, path, convert } = resolveAxisKey(key, line);
  const range = /^range\s*\((.*)\)$/s.exec(text);
  let raw: unknown[];
  if (range) {
    if (path && settingKind(path)?.type !== 'number') throw new UserError(`${where}: range() needs a numeric setting; list the values instead (${key}=a,b,c)`);
    raw = expandRange(range[1]!, where);
  } else {
    const parts = splitTopLevel(text);
    if (parts.some((p) => p === '')) throw new UserError(`${where}: empty value in '${text}'; separate values with single commas`);
    // The paper's names convert what was typed (trainer.precision=16), so they get the raw text.
    raw = parts.map((p) => (convert ? parseTypedOrRaw(p) : path ? parseTypedValue(path, p, where) : unquote(p)));
  }
  const values = raw.map((v) => (convert ? convert(v) : v)) as AxisValue[];
  if (axis === 'seed' && values.some((v) => !Number.isInteger(v))) throw new UserError(`${where}: seeds are whole numbers`);
  if (new Set(values.map((v) => JSON.stringify(v))).size !== values.length) throw new UserError(`${where}: a value is listed twice in '${text}'`);
  return { key, axis, values };
}

function parseTypedOrRaw(text: string): unknown {
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? n : unquote(text);
}

/** Sorts command-line `key=value` arguments into axes and plain overrides; a key given as two axes is refused. */
export function splitAxesAndOverrides(lines: readonly string[]): { axes: CliAxis[]; overrides: string[] } {
  const axes: CliAxis[] = [];
  const overrides: string[] = [];
  for (const line of lines) {
    if (!isAxisArgument(line)) {
      overrides.push(line);
      continue;
    }
    const parsed = parseCliAxis(line);
    const twice = axes.find((a) => a.axis === parsed.axis);
    if (twice) throw new UserError(`axis ${parsed.key} is given twice (${twice.key} and ${parsed.key}); give one list`);
    axes.push(parsed);
  }
  return { axes, overrides };
}

/** The command-line axes as expandSweep takes them: grid axes by name, and the seeds list. */
export function axesForExpansion(axes: readonly CliAxis[]): { axes: Record<string, AxisValue[]>; seeds: number[] | null } {
  const out: Record<string, AxisValue[]> = {};
  let seeds: number[] | null = null;
  for (const a of axes) {
    if (a.axis === 'seed') seeds = a.values as number[];
    else out[a.axis] = a.values;
  }
  return { axes: out, seeds };
}
