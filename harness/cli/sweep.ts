// npm run sweep <spec> [-- options]: expand a spec into runs and train them on this machine's
// devices or as Slurm batch jobs, keeping every result in the database. See usage below.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Table from 'cli-table3';
import { detectDeviceEnv, gpuBackendAvailable, planSlots } from '../schedule/devices.ts';
import type { Executor, Slot } from '../schedule/executor.ts';
import { LocalExecutor } from '../schedule/local-executor.ts';
import { TRAINER_ENTRY } from '../schedule/repo-root.ts';
import { runSweep } from '../schedule/run-sweep.ts';
import { collectSlurmRuns, submitDetached } from '../schedule/slurm-detach.ts';
import { SlurmExecutor, slurmSlots } from '../schedule/slurm-executor.ts';
import { askCancelOrLeave } from '../schedule/slurm-interrupt.ts';
import type { SlurmOptionsInput } from '../contract/slurm-options.ts';
import { resourceArgs, SLURM_FLAGS, takeSlurmFlags } from '../schedule/slurm-options.ts';
import { axesForExpansion, splitAxesAndOverrides } from '../spec/cli-axes.ts';
import { expandSweep } from '../spec/expand.ts';
import { listSpecs, loadSpec, EXPERIMENTS_DIR } from '../spec/load.ts';
import { placementOf } from '../spec/placement.ts';
import type { ExecutorName } from '../spec/types.ts';
import { checkProfileRequirements, chooseDefaultProfile, findWikitext103 } from '../spec/profile.ts';
import { formatPlanSummary, formatPlanTable } from '../spec/table.ts';
import { openStore, type Store } from '../store/store.ts';
import type { RunPlan } from '../spec/plan.ts';
import { UserError } from '../contract/errors.ts';
import {
  DEFAULT_RUNS_DIR, dbPath, durationOption, nonNegIntOption, parseCliArgs, positiveIntOption, runCli,
} from './common.ts';
import { progressFor } from './progress.ts';
import { planSearch } from '../search/plan-search.ts';
import { runSearchCommand, SEARCH_OPTIONS, SEARCH_USAGE, searchDryRun, searchFlags } from './search-command.ts';
import { stopOnSignals } from './signals.ts';

const USAGE = `usage: npm run sweep <spec> [-- [key=value ...] [options]]
       npm run sweep -- --list

Expands experiments/<spec>.ts into runs and trains them, one run per device slot (or one
Slurm batch job per run); every result goes to the results database. Runs already done are
not run again; interrupted runs resume from their checkpoints. Ctrl-C stops gracefully (runs
checkpoint and end interrupted; on Slurm it asks whether to cancel the jobs or leave them).

  key=value             override a setting (dot path, e.g. train.lr=3e-4, or the paper's
                        names, e.g. trainer.precision=16); same as --set key=value
  key=a,b,c             an axis, Hydra-style: defines or replaces the spec's axis of that key
                        (inrank.explainedRatio=0.7,0.8,0.9; model=gpt2,gpt2-medium; seed=1,2)
  key=range(a,b,s)      an axis of a, a+s, ... below b (Python's and Hydra's range: b excluded)
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
  --executor local|slurm  where runs run (default local, or what the spec / profile says)
${SEARCH_USAGE}
  -h, --help            this text

With --executor slurm (the repository, --out and --data-dir on a filesystem the nodes share);
these override the spec's or profile's slurm block:
  --partition P         sbatch --partition
  --account A           sbatch --account
  --time T              each job's time limit (90, 4:00:00, 2-00:00:00); a run stopped by
                        it continues from its checkpoint in a new job
  --gpus-per-run N      sbatch --gres=gpu:N (the paper's table: 1)
  --cpus-per-run N      sbatch --cpus-per-task
  --mem-per-run M       sbatch --mem (64G)
  --sbatch-arg ARG      any other sbatch argument, as given (repeatable: --sbatch-arg=--qos=long)
  --detach              submit every run (each stage 2 held on its stage 1's job) and exit; a
                        later npm run sweep <spec> or npm run report stores the results
  --max-parallel N      at most N jobs queued or running at once (default: all)

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
  executor: { type: 'string' },
  detach: { type: 'boolean' },
  ...SEARCH_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const EXECUTORS: readonly ExecutorName[] = ['local', 'slurm'];

async function main(argv: string[]): Promise<number> {
  // The Slurm flags first: they take values (--time 4:00:00) the general parser does not know.
  const { input: slurmFlags, rest: args } = takeSlurmFlags(argv);
  const { values, positionals } = parseCliArgs(args, OPTIONS, 'npm run sweep -- --help');
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
  // key=a,b,c and key=range(...) are axes (Hydra's multirun); --set is always a plain override.
  const cli = splitAxesAndOverrides(rest);
  const overrides = [...cli.overrides, ...(values.set ?? [])];
  const cliAxes = axesForExpansion(cli.axes);
  const filters = values.filter ?? [];
  const maxParallel = positiveIntOption(values['max-parallel'], '--max-parallel');
  const retries = nonNegIntOption(values.retries, '--retries') ?? 2;
  const timeoutMs = durationOption(values.timeout, '--timeout');
  if (values.executor !== undefined && !(EXECUTORS as readonly string[]).includes(values.executor)) {
    throw new UserError(`--executor ${values.executor}: use local or slurm`);
  }
  const dataDir = values['data-dir'] ? resolve(values['data-dir']) : null;
  if (dataDir && !existsSync(dataDir)) throw new UserError(`--data-dir ${dataDir} does not exist`);
  const runsDir = values.out ? resolve(values.out) : DEFAULT_RUNS_DIR;
  const trainer = values.trainer ? resolve(values.trainer) : TRAINER_ENTRY;

  const devices = detectDeviceEnv();
  const machine = { gpuBackend: gpuBackendAvailable(devices), wikitext103: findWikitext103(dataDir) };
  const spec = await loadSpec(specName, specsDir);
  const choice = values.profile ? { profile: values.profile, reason: 'chosen with --profile' } : chooseDefaultProfile(machine);
  const profile = choice.profile;
  checkProfileRequirements(profile, machine, spec);
  const placement = placementOf(spec, profile);
  const executorName: ExecutorName = (values.executor as ExecutorName | undefined) ?? placement.executor ?? 'local';
  const slurm = executorName === 'slurm'
    ? new SlurmExecutor({
        ...placement.slurm,
        ...slurmFlags,
        retries,
        detach: values.detach ?? false,
        ...(values.trainer ? { command: [slurmFlags.node ?? 'node', '--import', 'tsx', trainer] } : {}),
      } as SlurmOptionsInput)
    : null;
  if (!slurm) refuseSlurmOnlyFlags(slurmFlags, values.detach ?? false);
  if (slurm && values.devices !== undefined) {
    throw new UserError('--devices picks this machine\'s devices; with --executor slurm the cluster places the runs (use --gpus-per-run, --max-parallel)');
  }
  const slots = slurm ? null : planSlots(values.devices, devices);

  let t = performance.now();
  const expandOptions = { profile, overrides, filters, runsDir, dataDir, axes: cliAxes.axes, seeds: cliAxes.seeds };
  const plans = expandSweep(spec, expandOptions);
  const expandMs = performance.now() - t;
  if (plans.length === 0) throw new UserError(`spec ${specName} on profile ${profile} expands to no runs${filters.length ? ` with --filter ${filters.join(' ')}` : ''}`);
  // A spec with a search block runs trials proposed one by one instead of the grid (harness/search/).
  const search = planSearch(spec, searchFlags(values, maxParallel), expandOptions, plans);
  if (search && values.detach) throw new UserError('--detach: a search proposes each trial from finished ones, so it must follow them; run it without --detach');
  // Printed once the input is known good, so a mistake is reported in exactly one line.
  say(`profile ${profile}: ${choice.reason}`);
  if (values['dry-run'] && search) {
    say(searchDryRun(search));
    say(`nothing started (--dry-run)`);
    return 0;
  }
  if (values['dry-run']) {
    say(formatPlanTable(plans));
    say(formatPlanSummary(plans));
    if (slurm) say(`executor: slurm (${resourceArgs(slurm.options).join(' ') || 'the cluster\'s default partition and resources'}), one batch job per run`);
    say(`expanded in ${expandMs.toFixed(0)} ms; nothing started (--dry-run)`);
    return 0;
  }

  if (!existsSync(trainer)) throw new UserError(`trainer entry point not found: ${trainer}`);
  // A partition, account or GRES the cluster refuses is the user's to fix: before anything is stored.
  if (slurm) await slurm.checkOptions();
  let executor: Executor;
  let runSlots: Slot[];
  if (!search) say(`${formatPlanSummary(plans)}; expanded in ${expandMs.toFixed(0)} ms`);
  if (slurm) {
    executor = slurm;
    runSlots = slurmSlots(maxParallel ?? plans.length);
    const sbatchArgs = resourceArgs(slurm.options).join(' ');
    say(`executor: slurm, one batch job per run (${sbatchArgs || 'the cluster\'s default partition and resources'}); ${values.detach ? 'detached' : `${runSlots.length} at a time`}`);
  } else {
    executor = new LocalExecutor({ trainer });
    runSlots = slots!;
    const parallel = Math.min(runSlots.length, maxParallel ?? Infinity);
    const threads = runSlots[0]!.env.OMP_NUM_THREADS;
    say(`devices: ${runSlots.map((s) => s.name).join(', ')} (${threads} BLAS thread${threads === '1' ? '' : 's'} each); ${parallel} at a time`);
  }

  const db = dbPath(values.db);
  const store = openStore(db);
  const sweepArgs = {
    overrides, ...(cli.axes.length ? { axes: cli.axes } : {}), filters, devices: values.devices ?? null, maxParallel: maxParallel ?? null, retries, timeoutMs, runsDir, dataDir,
    executor: executorName, ...(slurm ? { slurm: slurm.options, detach: values.detach ?? false } : {}),
  };
  if (slurm) {
    // Results of jobs that ran while no harness followed them (--detach, a harness that died).
    const collected = await collectSlurmRuns(store, slurm);
    if (collected.length) say(`stored the results of ${collected.length} slurm job(s) that ended while no harness followed them`);
    if (values.detach) {
      try {
        return await detach(store, spec.name || specName, profile, plans, slurm, sweepArgs);
      } finally {
        store.close();
      }
    }
  }
  const stop = stopOnSignals((line) => process.stderr.write(`\n${line}\n`), slurm ? { beforeAbort: () => askCancelOrLeave(slurm) } : {});
  try {
    if (search) {
      return await runSearchCommand({
        store, spec: spec.name || specName, profile, plan: search, executor, slots: runSlots, retries, timeoutMs,
        signal: stop.signal, progress: progressFor(process.stdout), args: { ...sweepArgs, search: search.search }, say,
      });
    }
    t = performance.now();
    const summary = await runSweep({
      store, spec: spec.name || specName, profile, plans, slots: runSlots, maxParallel, retries, timeoutMs,
      executor,
      args: sweepArgs,
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

/** --detach: record the sweep, submit its runs and exit; the jobs run on without this process. */
async function detach(store: Store, spec: string, profile: string, plans: RunPlan[], slurm: SlurmExecutor, args: unknown): Promise<number> {
  const sweepId = store.beginSweep(spec, profile, args);
  store.addPlans(sweepId, plans);
  const report = await submitDetached(store, plans, slurm);
  for (const job of report.submitted) say(`submitted ${job.name}: slurm job ${job.jobId}${job.after ? ` (held until job ${job.after} succeeds)` : ''}`);
  for (const left of report.left) say(`not submitted ${left.name}: ${left.why}`);
  say(`sweep ${sweepId} detached: ${report.submitted.length} job(s) submitted; npm run sweep ${spec} -- --profile ${profile} --executor slurm (or npm run report) stores their results`);
  return 0;
}

/** Slurm flags or --detach given for a local sweep: one line saying what is missing. */
function refuseSlurmOnlyFlags(flags: SlurmOptionsInput, detaching: boolean): void {
  const given = Object.keys(flags);
  if (given.length === 0 && !detaching) return;
  const flag = detaching ? '--detach' : Object.entries(SLURM_FLAGS).find(([, key]) => given.includes(key))![0];
  throw new UserError(`${flag} applies to Slurm only: add --executor slurm (or set executor: 'slurm' in the spec)`);
}

function printSpecList(specs: Awaited<ReturnType<typeof listSpecs>>): void {
  const profiles = [...new Set(specs.flatMap((s) => [...Object.keys(s.runs), ...Object.keys(s.problems)]))];
  const table = new Table({ head: ['spec', ...profiles.map((p) => `${p} runs`), 'description'], style: { head: [], border: [], compact: true } });
  for (const s of specs) table.push([s.name, ...profiles.map((p) => (p in s.runs ? String(s.runs[p]) : '-')), s.description]);
  say(table.toString());
  say(`${specs.length} spec(s); run one with: npm run sweep <spec> [-- --profile NAME]`);
}

runCli(main);
