// npm run sweep <spec> [-- options]: expand a spec into runs and train them on this machine's
// devices, keeping every result in the database. See usage below.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Table from 'cli-table3';
import { detectDeviceEnv, gpuBackendAvailable, planSlots } from '../schedule/devices.ts';
import { LocalExecutor } from '../schedule/local-executor.ts';
import { TRAINER_ENTRY } from '../schedule/repo-root.ts';
import { runSweep } from '../schedule/run-sweep.ts';
import { expandSweep } from '../spec/expand.ts';
import { listSpecs, loadSpec, EXPERIMENTS_DIR } from '../spec/load.ts';
import { checkProfileRequirements, chooseDefaultProfile, findWikitext103 } from '../spec/profile.ts';
import { formatPlanSummary, formatPlanTable } from '../spec/table.ts';
import { openStore } from '../store/store.ts';
import { UserError } from '../train/config.ts';
import {
  DEFAULT_RUNS_DIR, dbPath, durationOption, nonNegIntOption, parseCliArgs, positiveIntOption, runCli,
} from './common.ts';
import { progressFor } from './progress.ts';
import { stopOnSignals } from './signals.ts';

const USAGE = `usage: npm run sweep <spec> [-- [key=value ...] [options]]
       npm run sweep -- --list

Expands experiments/<spec>.ts into runs and trains them, one run per device slot; every
result goes to the results database. Runs already done are not run again; interrupted runs
resume from their checkpoints. Ctrl-C stops gracefully (runs checkpoint and end interrupted).

  key=value             override a setting (dot path, e.g. train.lr=3e-4, or the paper's
                        names, e.g. trainer.precision=16); same as --set key=value
  --profile NAME        paper | cpu | smoke | ... (default: paper with a GPU backend and
                        WikiText-103, else cpu; the first line says which and why)
  --dry-run             print the expanded runs as a table; start nothing
  --filter key=value    keep only runs whose axes or settings match (repeatable)
  --set key=value       override a setting (repeatable)
  --devices SPEC        N (first N GPUs, else N CPU slots), 0,2 (GPU indices), cpu or cpu:N
  --max-parallel N      at most N runs at once (default: one per slot)
  --retries N           extra attempts for a crashed run (default 2; never for divergence
                        or a user error)
  --timeout DUR         per-run limit, e.g. 90m, 2h (default none)
  --db FILE             results database (default results/inrank.db)
  --out DIR             run folders: checkpoints, config.json, train.log (default results/runs)
  --data-dir DIR        WikiText-103 folder (wiki.train.raw, ...); needed by --profile paper
  --list                list the specs with their run counts per profile
  --trainer FILE        another trainer entry point that speaks the protocol
  --specs-dir DIR       where specs live (default experiments/)
  -h, --help            this text

Exit code: 0 when every run ended with a result (done, or diverged: divergence is a finding),
1 when some run failed or was skipped, 2 for a usage mistake, 130 when interrupted.`;

const OPTIONS = {
  profile: { type: 'string' },
  'dry-run': { type: 'boolean' },
  filter: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
  devices: { type: 'string' },
  'max-parallel': { type: 'string' },
  retries: { type: 'string' },
  timeout: { type: 'string' },
  db: { type: 'string' },
  out: { type: 'string' },
  'data-dir': { type: 'string' },
  list: { type: 'boolean' },
  trainer: { type: 'string' },
  'specs-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, OPTIONS, 'sweep');
  if (values.help) {
    say(USAGE);
    return 0;
  }
  const specsDir = values['specs-dir'] ? resolve(values['specs-dir']) : EXPERIMENTS_DIR;
  if (values.list) {
    printSpecList(await listSpecs(specsDir));
    return 0;
  }
  const [specName, ...rest] = positionals;
  if (!specName) throw new UserError('give a spec name: npm run sweep <spec> (npm run sweep -- --list shows them)');
  const stray = rest.find((a) => !a.includes('='));
  if (stray) throw new UserError(`unexpected argument '${stray}': overrides are key=value (e.g. train.lr=3e-4); options start with --`);
  const overrides = [...rest, ...(values.set ?? [])];
  const filters = values.filter ?? [];
  const maxParallel = positiveIntOption(values['max-parallel'], '--max-parallel');
  const retries = nonNegIntOption(values.retries, '--retries') ?? 2;
  const timeoutMs = durationOption(values.timeout, '--timeout');
  const dataDir = values['data-dir'] ? resolve(values['data-dir']) : null;
  if (dataDir && !existsSync(dataDir)) throw new UserError(`--data-dir ${dataDir} does not exist`);
  const runsDir = values.out ? resolve(values.out) : DEFAULT_RUNS_DIR;
  const trainer = values.trainer ? resolve(values.trainer) : TRAINER_ENTRY;

  const devices = detectDeviceEnv();
  const slots = planSlots(values.devices, devices);
  const machine = { gpuBackend: gpuBackendAvailable(devices), wikitext103: findWikitext103(dataDir) };
  const spec = await loadSpec(specName, specsDir);
  const choice = values.profile ? { profile: values.profile, reason: 'chosen with --profile' } : chooseDefaultProfile(machine);
  const profile = choice.profile;
  checkProfileRequirements(profile, machine, spec);

  let t = performance.now();
  const plans = expandSweep(spec, { profile, overrides, filters, runsDir, dataDir });
  const expandMs = performance.now() - t;
  if (plans.length === 0) throw new UserError(`spec ${specName} on profile ${profile} expands to no runs${filters.length ? ` with --filter ${filters.join(' ')}` : ''}`);
  // Printed once the input is known good, so a mistake is reported in exactly one line.
  say(`profile ${profile}: ${choice.reason}`);
  if (values['dry-run']) {
    say(formatPlanTable(plans));
    say(formatPlanSummary(plans));
    say(`expanded in ${expandMs.toFixed(0)} ms; nothing started (--dry-run)`);
    return 0;
  }

  if (!existsSync(trainer)) throw new UserError(`trainer entry point not found: ${trainer}`);
  const parallel = Math.min(slots.length, maxParallel ?? Infinity);
  const threads = slots[0]!.env.OMP_NUM_THREADS;
  say(`${formatPlanSummary(plans)}; expanded in ${expandMs.toFixed(0)} ms`);
  say(`devices: ${slots.map((s) => s.name).join(', ')} (${threads} BLAS thread${threads === '1' ? '' : 's'} each); ${parallel} at a time`);

  const db = dbPath(values.db);
  const store = openStore(db);
  const stop = stopOnSignals((line) => process.stderr.write(`\n${line}\n`));
  try {
    t = performance.now();
    const summary = await runSweep({
      store, spec: spec.name || specName, profile, plans, slots, maxParallel, retries, timeoutMs,
      executor: new LocalExecutor({ trainer }),
      args: { overrides, filters, devices: values.devices ?? null, maxParallel: maxParallel ?? null, retries, timeoutMs, runsDir, dataDir },
      signal: stop.signal,
      progress: progressFor(process.stdout),
      log: say,
    });
    const counts = Object.entries(summary.counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ');
    say(`sweep ${summary.sweepId} ${summary.interrupted ? 'interrupted' : 'finished'} in ${((performance.now() - t) / 1000).toFixed(1)} s: ${counts}`);
    say(`results: ${db}  (npm run runs -- --sweep ${summary.sweepId}; npm run show <run>)`);
    return summary.exitCode;
  } finally {
    stop.dispose();
    store.close();
  }
}

function printSpecList(specs: Awaited<ReturnType<typeof listSpecs>>): void {
  const profiles = [...new Set(specs.flatMap((s) => [...Object.keys(s.runs), ...Object.keys(s.problems)]))];
  const table = new Table({ head: ['spec', ...profiles.map((p) => `${p} runs`), 'description'], style: { head: [], border: [], compact: true } });
  for (const s of specs) table.push([s.name, ...profiles.map((p) => (p in s.runs ? String(s.runs[p]) : '-')), s.description]);
  say(table.toString());
  say(`${specs.length} spec(s); run one with: npm run sweep <spec> [-- --profile NAME]`);
}

runCli(main);
