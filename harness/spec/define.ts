// defineSweep: a spec file is `export default defineSweep({...})`, typed for tsc (like
// Playwright's defineConfig) and validated again here at run time, because a spec may also come
// from plain JavaScript or be edited without a type check.
import { z } from 'zod';
import { slurmOptionsSchema } from '../contract/slurm-options.ts';
import { runConfigSchema } from '../contract/config.ts';
import { UserError } from '../contract/errors.ts';
import { SAFE_NAME_RULE, safeNameSchema } from '../contract/names.ts';
import { didYouMean } from './closest.ts';
import { CONFIG_PATHS, isConfigPath, isPlainObject } from './paths.ts';
import { checkSearchSpace, searchSchema, type Distribution } from './search-space.ts';
import type { SweepSpec, SweepSpecInput } from './types.ts';

/** Marks a validated spec at run time, so the loader can tell spec files from helper modules. */
export const SWEEP_SPEC_MARK = Symbol.for('inrank-harness.sweep-spec');

/** Keys an axis, rule or filter may use besides config dot paths. */
export const AXIS_ALIASES = ['model', 'precision'] as const;
export const RULE_KEYS: readonly string[] = [...AXIS_ALIASES, 'seed', ...CONFIG_PATHS];

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const rule = z.record(z.string(), z.union([scalar, z.array(scalar).min(1)]));
const axes = z.record(z.string(), z.array(scalar).min(1, 'an axis needs at least one value'));
const seeds = z.array(z.number().int()).min(1, 'give at least one seed');
const seedRule = z.strictObject({ match: rule, seeds });
const modelSettings = z.strictObject({
  nEmbd: z.number().int().positive(),
  nHead: z.number().int().positive(),
  nLayer: z.number().int().positive(),
  lr: z.number().positive(),
  microBatch: z.number().int().positive(),
  fixedRank: z.number().int().positive(),
});
const patch = z.record(z.string(), z.unknown());
// Where runs run: checked with the Slurm options' own rules (time and memory formats).
const executorName = z.enum(['local', 'slurm']);
const slurm = slurmOptionsSchema.shape;
const slurmBlock = z.strictObject({
  partition: slurm.partition.unwrap().optional(),
  account: slurm.account.unwrap().optional(),
  time: slurm.time.unwrap().optional(),
  gpus: slurm.gpus.unwrap().optional(),
  cpus: slurm.cpus.unwrap().optional(),
  mem: slurm.mem.unwrap().optional(),
  extraArgs: slurm.extraArgs.unwrap().optional(),
});
export const SLURM_SPEC_KEYS: readonly string[] = Object.keys(slurmBlock.shape);
const placement = { executor: executorName.optional(), slurm: slurmBlock.optional() };

const profilePatchSchema = z.strictObject({
  extends: z.string().optional(),
  description: z.string().optional(),
  models: z.record(safeNameSchema, modelSettings.partial()).optional(),
  base: patch.optional(),
  axes: axes.optional(),
  seeds: seeds.optional(),
  seedsFor: z.array(seedRule).optional(),
  /** The search space on this profile (settings scaled to the profile's sizes), replacing the spec's key by key. */
  search: z.strictObject({ space: searchSchema.shape.space }).optional(),
  ...placement,
});

const sweepSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'use letters, digits, . _ -').optional(),
  description: z.string().min(1, 'say in one line what the sweep is for'),
  base: patch.optional(),
  axes,
  include: z.array(rule).optional(),
  exclude: z.array(rule).optional(),
  seeds: seeds.optional(),
  seedsFor: z.array(seedRule).optional(),
  pipeline: z.enum(['two-stage', 'single']).optional(),
  profiles: z.record(z.string(), profilePatchSchema).optional(),
  /** Settings drawn by a search strategy instead of listed on the grid (search-space.ts). */
  search: searchSchema.optional(),
  ...placement,
});

export const profileSchema = z.strictObject({
  description: z.string().min(1),
  models: z.record(safeNameSchema, modelSettings).refine((m) => Object.keys(m).length > 0, 'a profile needs at least one model'),
  base: patch,
  seeds: seeds.optional(),
  requires: z.strictObject({ gpuBackend: z.boolean().optional(), wikitext103: z.boolean().optional() }).optional(),
  ...placement,
});

/** zod's text for an issue; a refused record key is a model name here, and says which names are safe. */
function issueMessage(issue: z.core.$ZodIssue): string {
  return issue.code === 'invalid_key' ? `model name: ${SAFE_NAME_RULE}` : issue.message;
}

function fail(where: string, what: string): never {
  throw new UserError(`${where}: ${what}`);
}

/** A settings patch must name real settings with values of the right type. */
export function checkConfigPatch(value: unknown, where: string): void {
  if (!isPlainObject(value)) fail(where, 'expected an object of settings');
  for (const forbidden of ['name', 'outDir', 'resume']) {
    if (forbidden in value) fail(`${where}.${forbidden}`, 'is filled in by the harness; remove it');
  }
  const result = runConfigSchema.safeParse(value);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = [...path, issue.keys[0]!].join('.');
    fail(`${where}.${key}`, `unknown setting${didYouMean(key, CONFIG_PATHS)}`);
  }
  fail(`${where}.${path.join('.')}`, issue.message);
}

function checkKeys(keys: Iterable<string>, allowed: readonly string[], where: string): void {
  const set = new Set(allowed);
  for (const key of keys) {
    if (!set.has(key)) fail(`${where}.${key}`, `unknown axis or setting${didYouMean(key, allowed)}`);
  }
}

function checkAxes(value: Record<string, unknown>, where: string): void {
  checkKeys(Object.keys(value), [...AXIS_ALIASES, ...CONFIG_PATHS], where);
  for (const key of ['name', 'outDir', 'resume', 'stage.from', 'stage.kind']) {
    if (key in value) fail(`${where}.${key}`, 'cannot be an axis (the harness sets it)');
  }
  for (const [key, values] of Object.entries(value)) {
    if (!isConfigPath(key)) continue;
    for (const v of values as unknown[]) {
      const probe: Record<string, unknown> = {};
      const [group, leaf] = key.split('.');
      if (leaf === undefined) probe[group!] = v;
      else probe[group!] = { [leaf]: v };
      const result = runConfigSchema.safeParse(probe);
      if (!result.success) fail(`${where}.${key}`, `value ${JSON.stringify(v)}: ${result.error.issues[0]!.message}`);
    }
  }
}

function checkRules(rules: ReadonlyArray<Record<string, unknown>> | undefined, where: string): void {
  rules?.forEach((r, i) => {
    if (Object.keys(r).length === 0) fail(`${where}[${i}]`, 'an empty rule matches everything; name at least one axis');
    checkKeys(Object.keys(r), RULE_KEYS, `${where}[${i}]`);
  });
}

/** Validates a raw spec; every problem is one UserError line naming the key. */
export function validateSweepSpec(raw: unknown, where = 'sweep spec'): SweepSpecInput {
  const result = sweepSpecSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      const known = issue.path.at(-1) === 'slurm' ? [...SLURM_SPEC_KEYS] : path ? Object.keys(profilePatchSchema.shape) : Object.keys(sweepSpecSchema.shape);
      fail(`${where}: ${path ? `${path}.` : ''}${key}`, `unknown key${didYouMean(key, known)}`);
    }
    fail(`${where}: ${path || '(root)'}`, issueMessage(issue));
  }
  const spec = result.data;
  const at = (key: string) => `${where}: ${key}`;
  if (spec.base) checkConfigPatch(spec.base, at('base'));
  checkAxes(spec.axes, at('axes'));
  checkRules(spec.include, at('include'));
  checkRules(spec.exclude, at('exclude'));
  spec.seedsFor?.forEach((s, i) => checkRules([s.match], at(`seedsFor[${i}].match`)));
  if (spec.search) checkSearchSpace(spec.search.space as Record<string, Distribution>, Object.keys(spec.axes), at('search'));
  for (const [name, p] of Object.entries(spec.profiles ?? {})) {
    if (p.base) checkConfigPatch(p.base, at(`profiles.${name}.base`));
    if (p.axes) checkAxes(p.axes, at(`profiles.${name}.axes`));
    p.seedsFor?.forEach((s, i) => checkRules([s.match], at(`profiles.${name}.seedsFor[${i}].match`)));
    if (p.search) {
      if (!spec.search) fail(at(`profiles.${name}.search`), 'the spec declares no search; add a search block');
      checkSearchSpace(p.search.space as Record<string, Distribution>, Object.keys({ ...spec.axes, ...p.axes }), at(`profiles.${name}.search`));
    }
  }
  return raw as SweepSpecInput;
}

/**
 * Declares a sweep. Typed for the compiler, validated at run time; a spec without a name gets
 * its file's name from the loader.
 */
export function defineSweep(spec: SweepSpecInput): SweepSpec {
  validateSweepSpec(spec, spec.name ? `sweep spec ${spec.name}` : 'sweep spec');
  const out = { ...spec, name: spec.name ?? '' };
  Object.defineProperty(out, SWEEP_SPEC_MARK, { value: true, enumerable: false });
  return Object.freeze(out) as unknown as SweepSpec;
}

export function isSweepSpec(value: unknown): value is SweepSpec {
  return isPlainObject(value) && (value as Record<symbol, unknown>)[SWEEP_SPEC_MARK] === true;
}

/** The same spec under another name (the loader names a spec after its file). */
export function withSpecName(spec: SweepSpec, name: string): SweepSpec {
  const out = { ...spec, name };
  Object.defineProperty(out, SWEEP_SPEC_MARK, { value: true, enumerable: false });
  return Object.freeze(out) as unknown as SweepSpec;
}

/** Declares the shared profiles (experiments/profiles.ts), validated like a spec. */
export function defineProfiles<const T extends Record<string, import('./types.ts').Profile>>(profiles: T): T {
  for (const [name, profile] of Object.entries(profiles)) {
    const result = profileSchema.safeParse(profile);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      fail(`profile ${name}: ${issue.path.map(String).join('.') || '(root)'}`, issueMessage(issue));
    }
    checkConfigPatch(profile.base, `profile ${name}: base`);
  }
  return profiles;
}
