// Expansion: a spec and a profile become run plans. Per run, settings are layered
//   profile base -> the model's sizes and settings -> the method's settings (fixed rank)
//   -> spec base -> the spec's settings for this profile -> the run's axis values -> seed
//   -> --data-dir (and the WikiText release it selects over Brown), --cache-dir -> command-line overrides
// with the data's content fingerprint (computed by the caller while planning) in each id;
// method inrank becomes a stage 1 and a stage 2 that loads its pruned checkpoint.
import { join } from 'node:path';
import { type RunConfig } from '../contract/config.ts';
import { UserError } from '../contract/errors.ts';
import { expectedCost } from './cost.ts';
import { didYouMean } from './closest.ts';
import { filterPlans, valueMatches } from './filter.ts';
import { overrideContext, parseOverrides, writeOverrides } from './overrides.ts';
import { DEFAULT_CONFIG, deepMerge, getPath, setPath, type Scalar } from './paths.ts';
import type { RunPlan } from './plan.ts';
import { resolveProfile, type EffectiveProfile } from './profile.ts';
import { parsePlannedConfig } from './resolve.ts';
import { runIdOf } from './run-id.ts';
import type { ModelSettings, Rule, SweepSpec } from './types.ts';

export interface ExpandOptions {
  profile: string;
  /** `key=value` lines (our dot paths or the paper's names), applied after everything else. */
  overrides?: readonly string[];
  /** `key=value` lines: keep the runs that match (see filterPlans). */
  filters?: readonly string[];
  /** Results folder: each run's outDir is `<runsDir>/<id>`. */
  runsDir: string;
  /** The corpus folder (--data-dir); not part of run ids. */
  dataDir?: string | null;
  /** The WikiText release --data-dir selects for runs whose settings read the Brown corpus (overrides still win). */
  dataCorpus?: 'wikitext-103' | 'wikitext-2' | null;
  /** The token-cache folder (--cache-dir); not part of run ids. */
  cacheDir?: string | null;
  /** Each corpus's content fingerprint (contract/data-fingerprint.ts): part of run ids. */
  fingerprints?: Readonly<Partial<Record<string, string>>>;
  /** Axes given on the command line (cli-axes.ts): each defines or replaces the spec's axis of its key. */
  axes?: Readonly<Record<string, readonly CellValue[]>>;
  /** Seeds given on the command line (seed=1,2): they replace the spec's and profile's seeds. */
  seeds?: readonly number[] | null;
}

type CellValue = Scalar | null;
/** One grid cell: axis name -> value. */
type Cell = Record<string, CellValue>;

/** Cartesian product of the axes, in the spec's order (the last axis varies fastest). */
function cartesian(axes: Record<string, readonly CellValue[]>): Cell[] {
  let cells: Cell[] = [{}];
  for (const [key, values] of Object.entries(axes)) {
    cells = cells.flatMap((cell) => values.map((v) => ({ ...cell, [key]: v })));
  }
  return cells;
}

/** An include rule's lists expand like axes. */
function ruleCells(rule: Rule): Cell[] {
  const axes: Record<string, readonly CellValue[]> = {};
  for (const [key, value] of Object.entries(rule)) axes[key] = Array.isArray(value) ? value : [value as CellValue];
  return cartesian(axes);
}

/** The value a rule key sees: the cell's own axis value, else the resolved setting. */
function viewValue(cell: Cell, raw: Record<string, unknown>, seed: number | null, key: string): unknown {
  if (key in cell) return cell[key];
  if (key === 'seed') return seed;
  if (key === 'model') return getPath(raw, 'model.name');
  if (key === 'precision') return getPath(raw, 'precision.kind') ?? 'fp32';
  return getPath(raw, key);
}

function ruleMatches(rule: Rule, cell: Cell, raw: Record<string, unknown>, seed: number | null = null): boolean {
  return Object.entries(rule).every(([key, wanted]) => {
    const actual = viewValue(cell, raw, seed, key);
    const options = Array.isArray(wanted) ? wanted : [wanted];
    return options.some((w) => valueMatches(actual, w));
  });
}

function modelPatch(name: string, m: ModelSettings): Record<string, unknown> {
  return { model: { name, nEmbd: m.nEmbd, nHead: m.nHead, nLayer: m.nLayer }, train: { lr: m.lr, microBatch: m.microBatch } };
}

/** The fixed-rank baseline: the profile's rank for this model, no buffer (the trainer never grows it). */
function methodPatch(method: unknown, m: ModelSettings): Record<string, unknown> {
  return method === 'fixed' ? { inrank: { initModes: m.fixedRank, bufferModes: 0 } } : {};
}

function cellPatch(cell: Cell): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(cell)) {
    if (key === 'model') continue; // resolved through the profile's model table
    setPath(out, key === 'precision' ? 'precision.kind' : key, value);
  }
  return out;
}

/** Short labels for run names: gpt2-inrank-fp32-er0.8-s1113-stage2. */
const LABELS: Record<string, string> = {
  'inrank.explainedRatio': 'er',
  'inrank.bufferModes': 'buf',
  'inrank.warmupIter': 'wu',
  'inrank.gapIter': 'gap',
  'inrank.initModes': 'init',
  'inrank.initScale': 'is',
  'train.lr': 'lr',
  'train.microBatch': 'mb',
  'train.globalBatch': 'gb',
  'train.maxSteps': 'steps',
};

function label(key: string, value: unknown): string {
  const prefix = LABELS[key] ?? key.split('.').pop()!;
  return `${prefix}${String(value)}`.replace(/[^A-Za-z0-9._+-]/g, '_');
}

const SEED_AXIS = 'train.seed';
/** Keys every run name and axes record carry anyway (a train.seed axis is the run's seed, s<seed>). */
const NAMED_KEYS = new Set(['model', 'method', 'precision', 'seed', SEED_AXIS]);

function runName(config: RunConfig, cell: Cell): string {
  const parts = [config.model.name, config.method, config.precision.kind];
  for (const key of Object.keys(cell)) {
    if (!NAMED_KEYS.has(key)) parts.push(label(key, getPath(config, key === 'precision' ? 'precision.kind' : key)));
  }
  parts.push(`s${config.train.seed}`);
  if (config.stage.kind !== 'single') parts.push(config.stage.kind);
  return parts.join('-');
}

function seedsFor(spec: SweepSpec, profile: EffectiveProfile, cell: Cell, raw: Record<string, unknown>, cliSeeds?: readonly number[] | null): readonly number[] {
  if (cliSeeds) return cliSeeds;
  // A cell that names its seed (a train.seed axis or include rule) trains that seed, as
  // train.seed=1,2,3 on the command line does: the seeds lists below are for cells that do not.
  if (typeof cell[SEED_AXIS] === 'number') return [cell[SEED_AXIS]];
  for (const rule of [...profile.seedsFor, ...(spec.seedsFor ?? [])]) {
    if (ruleMatches(rule.match, cell, raw)) return rule.seeds;
  }
  const baseSeed = getPath(raw, 'train.seed');
  return profile.seeds ?? spec.seeds ?? profile.sharedSeeds ?? [typeof baseSeed === 'number' ? baseSeed : 1113];
}

function axesRecord(cell: Cell, config: RunConfig): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {
    model: config.model.name,
    method: config.method,
    precision: config.precision.kind,
  };
  for (const key of Object.keys(cell)) {
    if (NAMED_KEYS.has(key)) continue;
    const value = getPath(config, key);
    out[key] = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : String(value);
  }
  out.seed = config.train.seed;
  out.stage = config.stage.kind;
  return out;
}

/** One resolved cell's runs: the run itself, or InRank's stage 1 and the stage 2 that loads its pruned checkpoint. */
function plansOf(config: RunConfig, cell: Cell, profile: string, runsDir: string, twoStage: boolean): RunPlan[] {
  const common = { profile, seed: config.train.seed };
  const plan = (stageConfig: RunConfig, dependsOn: string | null): RunPlan => {
    const id = runIdOf(stageConfig, dependsOn);
    const final = { ...stageConfig, name: runName(stageConfig, cell), outDir: join(runsDir, id) };
    return { ...common, id, name: final.name, config: final, axes: axesRecord(cell, stageConfig), dependsOn, expectedCost: expectedCost(stageConfig) };
  };
  if (!twoStage) return [plan(config, null)];
  const stage1 = plan({ ...config, stage: { ...config.stage, kind: 'stage1' as const, from: null } }, null);
  const s2 = { ...config, stage: { ...config.stage, kind: 'stage2' as const, from: join(runsDir, stage1.id, 'pruned.ckpt') } };
  return [stage1, plan(s2, stage1.id)];
}

/** The layers below a cell's own values, per model and method: the same for every cell that shares them. */
type BaseLayers = Map<string, Record<string, unknown>>;

/** A cell's settings, layered: defaults, profile, model, method, spec, profile patch, the cell itself. */
function resolveCellLayers(spec: SweepSpec, profile: EffectiveProfile, cell: Cell, where: string, bases: BaseLayers = new Map()): Record<string, unknown> {
  const modelNames = Object.keys(profile.models);
  const modelName = (cell.model ?? getPath(profile.patchBase, 'model.name') ?? getPath(spec.base, 'model.name') ?? modelNames[0]) as string;
  const settings = profile.models[String(modelName)];
  if (!settings) {
    throw new UserError(`${where}: model '${modelName}' is not in the profile${didYouMean(String(modelName), modelNames)}; models: ${modelNames.join(', ')}`);
  }
  // Merged once per model and method, not once per cell: a big grid shares a few of these.
  const base = (method: unknown): Record<string, unknown> => {
    const key = `${String(modelName)}\u0000${String(method)}`;
    let merged = bases.get(key);
    if (!merged) {
      merged = deepMerge<Record<string, unknown>>(
        // The defaults at the bottom, so rules see every setting (not only those a layer names).
        DEFAULT_CONFIG as unknown as Record<string, unknown>,
        profile.base as Record<string, unknown>,
        modelPatch(String(modelName), settings),
        methodPatch(method, settings),
        spec.base as Record<string, unknown> | undefined,
        profile.patchBase as Record<string, unknown>,
      );
      bases.set(key, merged);
    }
    return merged;
  };
  const own = cellPatch(cell);
  const first = deepMerge<Record<string, unknown>>(base(undefined), own);
  return first.method === 'fixed' ? deepMerge<Record<string, unknown>>(base('fixed'), own) : first;
}

/** Expands a spec on a profile into run plans (stable ids, unique names, stage 2 after stage 1). */
export function expandSweep(spec: SweepSpec, opts: ExpandOptions): RunPlan[] {
  const profile = resolveProfile(opts.profile, spec);
  const overrides = opts.overrides ?? [];
  const parsedOverrides = parseOverrides(overrides); // a bad override fails here, before any run
  const where = `spec ${spec.name || '(unnamed)'}, profile ${profile.name}`;
  const axes = { ...spec.axes, ...profile.axes, ...opts.axes } as Record<string, readonly CellValue[]>;
  // seed=... on the command line replaces the spec's seed axis, as any command-line axis replaces its key's.
  if (opts.seeds) delete axes[SEED_AXIS];
  const bases: BaseLayers = new Map();
  const resolveCell = (cell: Cell): Record<string, unknown> => resolveCellLayers(spec, profile, cell, where, bases);

  const cells: Array<{ cell: Cell; raw: Record<string, unknown> }> = [];
  for (const cell of cartesian(axes)) {
    const raw = resolveCell(cell);
    if (!(spec.exclude ?? []).some((rule) => ruleMatches(rule, cell, raw))) cells.push({ cell, raw });
  }
  for (const rule of spec.include ?? []) {
    for (const cell of ruleCells(rule)) cells.push({ cell, raw: resolveCell(cell) });
  }

  const plans: RunPlan[] = [];
  const seen = new Set<string>();
  for (const { cell, raw } of cells) {
    for (const seed of seedsFor(spec, profile, cell, raw, opts.seeds)) {
      const layered = deepMerge<Record<string, unknown>>(raw, { train: { seed } }, dataLayer(raw, opts));
      // Overrides go into the raw layers, so each run is validated once.
      writeOverrides(layered, parsedOverrides);
      const config = parsePlannedConfig(layered, parsedOverrides.length ? `${where}, ${overrideContext(parsedOverrides)}` : where);
      const fingerprint = opts.fingerprints?.[config.data.corpus];
      if (fingerprint !== undefined) config.data.fingerprint = fingerprint;
      const twoStage = config.method === 'inrank' && (spec.pipeline ?? 'two-stage') === 'two-stage' && config.stage.kind === 'single';
      for (const plan of plansOf(config, cell, profile.name, opts.runsDir, twoStage)) {
        if (seen.has(plan.id)) continue;
        seen.add(plan.id);
        plans.push(plan);
      }
    }
  }
  uniquifyNames(plans);
  return filterPlans(plans, opts.filters ?? []);
}

/** Where the data comes from, from the command line: the folder, the corpus it selects over Brown, the cache. */
function dataLayer(raw: Record<string, unknown>, opts: ExpandOptions): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  if (opts.dataDir) data.dataDir = opts.dataDir;
  if (opts.dataCorpus && (getPath(raw, 'data.corpus') ?? 'brown') === 'brown') data.corpus = opts.dataCorpus;
  if (opts.cacheDir) data.cacheDir = opts.cacheDir;
  return { data };
}

/** Two different runs with the same readable name (axes that label alike) get their id's prefix. */
function uniquifyNames(plans: RunPlan[]): void {
  const count = new Map<string, number>();
  for (const p of plans) count.set(p.name, (count.get(p.name) ?? 0) + 1);
  for (const p of plans) {
    if (count.get(p.name)! > 1) {
      p.name = `${p.name}-${p.id.slice(0, 6)}`;
      p.config.name = p.name;
    }
  }
}
