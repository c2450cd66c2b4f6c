// What `npm run sweep` is asked to do, read and checked before anything is printed or stored:
// the arguments parsed (parseSweepArgs), then the spec loaded, the profile chosen and checked,
// the executor opened and the runs expanded (prepareSweep). Every mistake here is a UserError,
// one line; the CLI and the in-process input tests call these same two functions.
// --backend, --runs-per-device and --devices list are read here too; the machine's GPUs and
// WebGPU adapter are found in prepareSweep (detectMachine), before the profile is chosen.
// Command-line axes (key=a,b,c, key=range(...)) and the search flags (--search, --early-stop,
// --trials) are parsed here too; a spec with a search block is planned as a search in prepareSweep.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BackendName } from '../contract/config.ts';
import { UserError } from '../contract/errors.ts';
import { DEFAULT_EXECUTOR, executorPlugin, openExecutor, takeExecutorFlags, type ExecutorFlags, type SweepExecutor } from '../schedule/executors.ts';
import { TRAINER_ENTRY } from '../schedule/repo-root.ts';
import { axesForExpansion, splitAxesAndOverrides, type CliAxis } from '../spec/cli-axes.ts';
import { expandSweep, type ExpandOptions } from '../spec/expand.ts';
import { EXPERIMENTS_DIR, loadSpec } from '../spec/load.ts';
import { executorBlock, placementOf } from '../spec/placement.ts';
import type { RunPlan } from '../spec/plan.ts';
import { checkProfileRequirements, chooseDefaultProfile, findWikitext103 } from '../spec/profile.ts';
import type { SearchOverrides } from '../spec/search-space.ts';
import type { SweepSpec } from '../spec/types.ts';
import { planSearch, type SearchPlan } from '../search/plan-search.ts';
import { DEFAULT_RUNS_DIR, durationOption, limitOption, nonNegIntOption, parseCliArgs, positiveIntOption } from './common.ts';
import { backendOption, detectMachine, type MachineDevices } from './sweep-devices.ts';
import { checkPlannedData, corpusOfDataDir, defaultCacheDir, profileReadsBrown } from './sweep-data.ts';
import { SEARCH_OPTIONS, searchFlags } from './search-command.ts';

/** Rows a dry run shows unless --limit says otherwise: enough to check a grid, quick for any size. */
const DRY_RUN_ROWS = 50;

const OPTIONS = {
  profile: { type: 'string' },
  'dry-run': { type: 'boolean' },
  limit: { type: 'string' },
  filter: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
  devices: { type: 'string' },
  'runs-per-device': { type: 'string' },
  backend: { type: 'string' },
  'max-parallel': { type: 'string' },
  retries: { type: 'string' },
  timeout: { type: 'string' },
  db: { type: 'string' },
  out: { type: 'string' },
  'data-dir': { type: 'string' },
  'cache-dir': { type: 'string' },
  rerun: { type: 'string' },
  list: { type: 'boolean' },
  trainer: { type: 'string' },
  'specs-dir': { type: 'string' },
  executor: { type: 'string' },
  detach: { type: 'boolean' },
  note: { type: 'string' },
  ...SEARCH_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

/** A sweep as the command line asks for it. */
export interface SweepInput {
  specName: string;
  specsDir: string;
  /** Plain key=value overrides (and --set): one value each. */
  overrides: string[];
  /** key=a,b,c / key=range(...) axes as typed (stored with the sweep); each defines or replaces the spec's axis. */
  axes: CliAxis[];
  /** The axes as expandSweep takes them: grid axes by name, and seed=... as the seeds list. */
  expandAxes: { axes: Record<string, CliAxis['values']>; seeds: number[] | null };
  /** --search, --early-stop, --trials (and --max-parallel): they steer a spec's search block. */
  search: SearchOverrides;
  filters: string[];
  profile: string | undefined;
  dryRun: boolean;
  /** --limit: rows the dry-run table shows (default 50); null shows every run. */
  dryRunLimit: number | null;
  devices: string | undefined;
  /** --runs-per-device: runs sharing each GPU (undefined when not given: one). */
  runsPerDevice: number | undefined;
  /** --backend: the trainers' backend (children get INRANK_BACKEND); null leaves it to the run config. */
  backend: BackendName | null;
  maxParallel: number | undefined;
  retries: number;
  timeoutMs: number | null;
  db: string | undefined;
  dataDir: string | null;
  runsDir: string;
  /** --cache-dir: the token cache and the data-hash cache (default: beside runsDir). */
  cacheDir: string;
  /** --rerun: which of the sweep's stored runs start again from step 0 (null: none; finished runs are kept). */
  rerun: RerunChoice | null;
  trainer: string;
  customTrainer: boolean;
  executor: string | undefined;
  detach: boolean;
  executorFlags: ExecutorFlags;
  /** --note: what this sweep is for, stored with it; null when not given. */
  note: string | null;
}

export type SweepCommand =
  | { kind: 'help' }
  | { kind: 'list'; specsDir: string }
  /** --devices list: print the GPUs and the WebGPU adapter each one gives; start nothing. */
  | { kind: 'devices' }
  | { kind: 'sweep'; input: SweepInput };

export function parseSweepArgs(argv: string[]): SweepCommand {
  const executorFlags = takeExecutorFlags(argv);
  const { values, positionals } = parseCliArgs(executorFlags.rest, OPTIONS, 'npm run sweep -- --help');
  if (values.help) return { kind: 'help' };
  const specsDir = values['specs-dir'] ? resolve(values['specs-dir']) : EXPERIMENTS_DIR;
  if (values.list) return { kind: 'list', specsDir };
  if (values.devices?.trim() === 'list') return { kind: 'devices' };
  const [specName, ...rest] = positionals;
  if (!specName) throw new UserError('give a spec name: npm run sweep <spec> (npm run sweep -- --list shows them)');
  const stray = rest.find((a) => !a.includes('='));
  if (stray) throw new UserError(`unexpected argument '${stray}': overrides are key=value (e.g. train.lr=3e-4); options start with --`);
  const maxParallel = positiveIntOption(values['max-parallel'], '--max-parallel');
  // key=a,b,c and key=range(...) are axes (Hydra's multirun); --set is always a plain override.
  const cli = splitAxesAndOverrides(rest);
  const search = searchFlags(values, maxParallel);
  const retries = nonNegIntOption(values.retries, '--retries') ?? 2;
  const timeoutMs = durationOption(values.timeout, '--timeout');
  const runsPerDevice = positiveIntOption(values['runs-per-device'], '--runs-per-device');
  const backend = backendOption(values.backend);
  if (values.executor !== undefined) executorPlugin(values.executor);
  const dataDir = values['data-dir'] ? resolve(values['data-dir']) : null;
  if (dataDir && !existsSync(dataDir)) throw new UserError(`--data-dir ${dataDir} does not exist`);
  const rerun = rerunOption(values.rerun);
  const runsDir = values.out ? resolve(values.out) : DEFAULT_RUNS_DIR;
  const note = values.note === undefined ? null : values.note.trim();
  if (note === '') throw new UserError('--note needs some text: --note "what this sweep is for"');
  return {
    kind: 'sweep',
    input: {
      specName, specsDir, overrides: [...cli.overrides, ...(values.set ?? [])], axes: cli.axes, expandAxes: axesForExpansion(cli.axes), search, filters: values.filter ?? [], profile: values.profile,
      dryRun: values['dry-run'] ?? false, dryRunLimit: limitOption(values.limit, '--limit', DRY_RUN_ROWS), devices: values.devices, runsPerDevice, backend, maxParallel, retries, timeoutMs, db: values.db, dataDir,
      runsDir, cacheDir: values['cache-dir'] ? resolve(values['cache-dir']) : defaultCacheDir(runsDir), rerun,
      trainer: values.trainer ? resolve(values.trainer) : TRAINER_ENTRY, customTrainer: values.trainer !== undefined,
      executor: values.executor, detach: values.detach ?? false, executorFlags, note,
    },
  };
}

/** A sweep ready to run: its spec, profile (and why), executor and expanded runs. */
export interface PreparedSweep {
  input: SweepInput;
  spec: SweepSpec;
  profile: string;
  profileReason: string;
  executorName: string;
  executor: SweepExecutor;
  /** This machine's GPUs and WebGPU adapter (the sweep's first lines name them). */
  machine: MachineDevices;
  plans: RunPlan[];
  expandMs: number;
  /** The spec's search (harness/search/), null for a grid: trials proposed one by one instead of the plans. */
  search: SearchPlan | null;
  /** Which data the runs read (printed under the profile line). */
  dataLines: string[];
}

export async function prepareSweep(input: SweepInput): Promise<PreparedSweep> {
  // A --backend webgpu that cannot start here is one line now, before anything is stored.
  const found = await detectMachine(input.backend);
  const deviceEnv = found.env;
  const machine = { gpuBackend: found.gpuBackend, wikitext103: findWikitext103(input.dataDir) };
  const spec = await loadSpec(input.specName, input.specsDir);
  const choice = input.profile ? { profile: input.profile, reason: 'chosen with --profile' } : chooseDefaultProfile(machine);
  checkProfileRequirements(choice.profile, machine, spec);
  const placement = placementOf(spec, choice.profile);
  const executorName = input.executor ?? placement.executor ?? DEFAULT_EXECUTOR;
  const executor = openExecutor(executorName, input.executorFlags, {
    block: executorBlock(placement, executorName),
    retries: input.retries, detach: input.detach, trainer: input.trainer, customTrainer: input.customTrainer,
    devices: input.devices, runsPerDevice: input.runsPerDevice, deviceEnv, maxParallel: input.maxParallel,
  });
  const { overrides, filters, runsDir, dataDir, cacheDir } = input;
  const selected = await corpusOfDataDir(dataDir);
  const expandOptions: ExpandOptions = { profile: choice.profile, overrides, filters, runsDir, dataDir, dataCorpus: selected?.corpus ?? null, cacheDir, ...input.expandAxes };
  const t = performance.now();
  const unchecked = expandSweep(spec, expandOptions);
  let expandMs = performance.now() - t;
  if (unchecked.length === 0) {
    throw new UserError(`spec ${input.specName} on profile ${choice.profile} expands to no runs${filters.length ? ` with --filter ${filters.join(' ')}` : ''}`);
  }
  // The data is checked and fingerprinted before the ids are final: the fingerprint is part of them.
  const data = await checkPlannedData(unchecked, dataDir, cacheDir);
  expandOptions.fingerprints = data.fingerprints;
  const t2 = performance.now();
  const plans = expandSweep(spec, expandOptions);
  expandMs += performance.now() - t2;
  const dataLines = [...selectionLine(selected, spec, choice.profile), ...data.lines];
  const search = planSearch(spec, input.search, expandOptions, plans);
  if (search && input.detach) throw new UserError('--detach: a search proposes each trial from finished ones, so it must follow them; run it without --detach');
  if (search && input.rerun) throw new UserError('--rerun: a search decides its trials from the ones it finished; start a new search with another --db instead');
  return { input, spec, profile: choice.profile, profileReason: choice.reason, executorName, executor, machine: found, plans, expandMs, search, dataLines };
}

export type RerunChoice = 'failed' | 'all';

function rerunOption(value: string | undefined): RerunChoice | null {
  if (value === undefined) return null;
  if (value === 'failed' || value === 'all') return value;
  throw new UserError(`--rerun ${value}: give failed (runs that failed, were skipped or diverged) or all (every run of the sweep)`);
}

/** Says when --data-dir replaced the profile's Brown corpus with a WikiText release. */
function selectionLine(selected: Awaited<ReturnType<typeof corpusOfDataDir>>, spec: SweepSpec, profile: string): string[] {
  if (!selected || !profileReadsBrown(spec, profile)) return [];
  const other = selected.corpus === 'wikitext-2' ? 'wikitext-103' : 'wikitext-2';
  return [`data: --data-dir selects ${selected.corpus} in place of profile ${profile}'s Brown corpus (train file ${selected.trainMb.toFixed(1)} MB); data.corpus=${other} names the other release`];
}
