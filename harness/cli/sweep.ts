// npm run sweep <spec> [-- options]: expand a spec into runs and train them on this machine's
// devices or as Slurm batch jobs, keeping every result in the database. See usage below.
import { existsSync } from 'node:fs';
import Table from 'cli-table3';
import { runSweep } from '../schedule/run-sweep.ts';
import { topLevelFaultLine } from '../schedule/io-fault.ts';
import { listSpecs } from '../spec/load.ts';
import { formatAxesSummary, formatLeftOut, formatPlanSummary, formatPlanTable } from '../spec/table.ts';
import { openStore, type Store } from '../store/store.ts';
import { setSweepNote } from '../store/sweep-notes.ts';
import { requeueLostHandovers } from '../schedule/handover-check.ts';
import { shareCodeFacts } from '../schedule/code-facts.ts';
import { checkStoreFile } from '../store/db-open.ts';
import { UserError } from '../contract/errors.ts';
import { backendNames } from '../contract/config.ts';
import { dbPath, runCli } from './common.ts';
import { progressFor } from './progress.ts';
import { runSearchCommand, SEARCH_USAGE, searchDryRun } from './search-command.ts';
import { stopOnSignals } from './signals.ts';
import { detectMachine, deviceLines, listDevices } from './sweep-devices.ts';
import { parseSweepArgs, prepareSweep, type PreparedSweep } from './sweep-input.ts';
import { legacyRunsLine } from './sweep-legacy.ts';
import { rerunLine } from './sweep-rerun.ts';

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
  --limit N             rows the --dry-run table shows (default 50; all shows every run)
  --filter key=value    keep only runs whose axes or settings match (repeatable)
  --set key=value       override a setting (repeatable)
  --devices SPEC        N (first N GPUs, else N CPU slots), 0,2 (GPU indices), cpu or cpu:N;
                        --devices list prints the GPUs and the WebGPU adapter each one gives
  --runs-per-device N   N runs at once on each GPU (small models; default 1)
  --backend NAME        force the trainers' backend: ${backendNames.join(', ')} (default auto:
                        tensorflow-gpu, webgpu on a hardware GPU, tensorflow, wasm, cpu)
  --max-parallel N      at most N runs at once (default: one per slot)
  --retries N           extra attempts for a crashed run (default 2; never for divergence
                        or a user error)
  --timeout DUR         per-run limit, e.g. 90m, 2h (default none)
  --db FILE             results database (default results/inrank.db)
  --out DIR             run folders: checkpoints, config.json, train.log (default results/runs)
  --data-dir DIR        a WikiText-2 or WikiText-103 folder (wiki.train.raw, ... or the .tokens
                        files); needed by --profile paper; on a profile that reads the Brown
                        corpus (cpu, smoke) it selects WikiText instead (the first lines say which)
  --cache-dir DIR       token cache (default: cache beside the --out folder, results/cache)
  --rerun failed|all    start runs of this sweep again from step 0: failed (also skipped and
                        diverged ones) or all (finished ones too); otherwise finished runs are
                        kept and failed ones resume
  --list                list the specs with their run counts per profile
  --trainer FILE        another trainer entry point that speaks the protocol
  --specs-dir DIR       where specs live (default experiments/)
  --executor local|slurm  where runs run (default local, or what the spec / profile says)
  --note "TEXT"         what this sweep is for; stored with it, shown by runs, show and report
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

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(argv: string[]): Promise<number> {
  const command = parseSweepArgs(argv);
  if (command.kind === 'help') {
    say(USAGE);
    return 0;
  }
  if (command.kind === 'list') {
    printSpecList(await listSpecs(command.specsDir));
    return 0;
  }
  if (command.kind === 'devices') {
    for (const line of await listDevices(await detectMachine(null, true))) say(line);
    return 0;
  }
  const sweep = await prepareSweep(command.input);
  // The children read it (harness/train/main.ts); it is where a run runs, not part of its id.
  if (command.input.backend) process.env.INRANK_BACKEND = command.input.backend;
  // A --db that is not ours, newer, read-only or in a file's place: one line before anything is printed.
  checkStoreFile(dbPath(command.input.db));
  // Printed once the input is known good, so a mistake is reported in exactly one line.
  say(`profile ${sweep.profile}: ${sweep.profileReason}`);
  for (const line of sweep.dataLines) say(line);
  if (sweep.executor.onThisMachine) for (const line of deviceLines(sweep.machine)) say(line);
  if (command.input.dryRun) return dryRun(sweep);
  const { input, executor, plans } = sweep;
  if (!existsSync(input.trainer)) throw new UserError(`trainer entry point not found: ${input.trainer}`);
  // A partition, account or GRES the cluster refuses is the user's to fix: before anything is stored.
  await executor.check();
  const slots = executor.slots(sweep.search ? sweep.search.search.maxParallel : plans.length);
  if (!sweep.search) say(`${formatPlanSummary(plans)}; expanded in ${sweep.expandMs.toFixed(0)} ms`);
  say(executor.describe(slots));
  const db = dbPath(input.db);
  try {
    const store = openStore(db);
    try {
      return await withStore(store, sweep, db);
    } finally {
      closeQuietly(store);
    }
  } catch (err) {
    // A full or read-only disk under --out or --db: one line, not a stack (io-fault.ts).
    const line = topLevelFaultLine(err, db);
    if (line === null) throw err;
    process.stderr.write(`error: ${line}\n`);
    return 1;
  }
}

/** What a sweep does with its database open: collect, announce, then schedule or detach. */
async function withStore(store: Store, sweep: PreparedSweep, db: string): Promise<number> {
  const { input, executor, plans } = sweep;
  shareCodeFacts(store); // once per sweep: each run's provenance names this code
  // Results of jobs that ran while no harness followed them (--detach, a harness that died).
  const collected = (await executor.collectUnattended?.(store)) ?? 0;
  if (collected) say(`stored the results of ${collected} cluster job(s) that ended while no harness followed them`);
  if (input.rerun) say(rerunLine(store, plans, input.rerun));
  const legacy = legacyRunsLine(store, plans);
  if (legacy) say(legacy);
  if (input.detach) return await detach(store, sweep);
  return await schedule(store, sweep, db);
}

/** Closing a database whose disk failed can fail too; the fault was already reported. */
function closeQuietly(store: Store): void {
  try {
    store.close();
  } catch {
    // nothing more to save
  }
}

function dryRun(sweep: PreparedSweep): number {
  const { plans, executor, expandMs, search } = sweep;
  if (search) {
    say(searchDryRun(search));
    say('nothing started (--dry-run)');
    return 0;
  }
  const limit = sweep.input.dryRunLimit;
  if (limit !== 0) say(formatPlanTable(plans, limit));
  for (const line of [formatLeftOut(plans.length, limit), formatPlanSummary(plans), formatAxesSummary(plans)]) if (line) say(line);
  const line = executor.dryRunLine();
  if (line) say(line);
  say(`expanded in ${expandMs.toFixed(0)} ms; nothing started (--dry-run)`);
  return 0;
}

/** The options stored with the sweep: what it was started with. */
function sweepArgs({ input, executorName, executor }: PreparedSweep): Record<string, unknown> {
  return {
    overrides: input.overrides, ...(input.axes.length ? { axes: input.axes } : {}), filters: input.filters, devices: input.devices ?? null, maxParallel: input.maxParallel ?? null,
    retries: input.retries, timeoutMs: input.timeoutMs, runsDir: input.runsDir, dataDir: input.dataDir, cacheDir: input.cacheDir,
    ...(input.rerun ? { rerun: input.rerun } : {}),
    executor: executorName, ...executor.storedArgs(),
  };
}

/** Schedules the runs on the executor's slots until each has ended (or Ctrl-C). */
async function schedule(store: Store, sweep: PreparedSweep, db: string): Promise<number> {
  const { input, executor, plans } = sweep;
  const beforeAbort = executor.beforeAbort;
  const stop = stopOnSignals((line) => process.stderr.write(`\n${line}\n`), beforeAbort ? { beforeAbort: () => beforeAbort() } : {});
  try {
    // A spec with a search block runs trials proposed one by one instead of the grid (harness/search/).
    if (sweep.search) {
      return await runSearchCommand({
        store, spec: sweep.spec.name || input.specName, profile: sweep.profile, plan: sweep.search, executor: executor.executor,
        slots: executor.slots(sweep.search.search.maxParallel), retries: input.retries, timeoutMs: input.timeoutMs,
        signal: stop.signal, progress: progressFor(process.stdout), args: { ...sweepArgs(sweep), search: sweep.search.search }, note: input.note, say,
      });
    }
    const t = performance.now();
    const summary = await runSweep({
      store, spec: sweep.spec.name || input.specName, profile: sweep.profile, plans, slots: executor.slots(plans.length),
      maxParallel: input.maxParallel, retries: input.retries, timeoutMs: input.timeoutMs, executor: executor.executor,
      args: sweepArgs(sweep), signal: stop.signal, progress: progressFor(process.stdout), log: say, note: input.note,
    });
    const counts = Object.entries(summary.counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ');
    say(`sweep ${summary.sweepId} ${summary.interrupted ? 'interrupted' : summary.fault ? 'stopped' : 'finished'} in ${((performance.now() - t) / 1000).toFixed(1)} s: ${counts}`);
    say(`results: ${db}  (npm run runs -- --sweep ${summary.sweepId}; npm run show <run>)`);
    if (summary.fault) process.stderr.write(`error: ${summary.fault}\n`);
    return summary.exitCode;
  } finally {
    stop.dispose();
  }
}

/** --detach: record the sweep, submit its runs and exit; the jobs run on without this process. */
async function detach(store: Store, sweep: PreparedSweep): Promise<number> {
  const spec = sweep.spec.name || sweep.input.specName;
  const sweepId = store.beginSweep(spec, sweep.profile, sweepArgs(sweep));
  if (sweep.input.note) setSweepNote(store, sweepId, sweep.input.note);
  store.addPlans(sweepId, sweep.plans);
  for (const line of requeueLostHandovers(store, sweep.plans)) say(line);
  const submitted = await sweep.executor.submitDetached!(store, sweep.plans, say);
  say(`sweep ${sweepId} detached: ${submitted} job(s) submitted; npm run sweep ${spec} -- --profile ${sweep.profile} --executor ${sweep.executorName} (or npm run report) stores their results`);
  return 0;
}

function printSpecList(specs: Awaited<ReturnType<typeof listSpecs>>): void {
  const profiles = [...new Set(specs.flatMap((s) => [...Object.keys(s.runs), ...Object.keys(s.problems)]))];
  const table = new Table({ head: ['spec', ...profiles.map((p) => `${p} runs`), 'description'], style: { head: [], border: [], compact: true } });
  for (const s of specs) table.push([s.name, ...profiles.map((p) => (p in s.runs ? String(s.runs[p]) : '-')), s.broken ? `BROKEN: ${s.broken}` : s.description]);
  say(table.toString());
  const broken = specs.filter((s) => s.broken).length;
  say(`${specs.length} spec(s)${broken ? `, ${broken} broken (fix the line named)` : ''}; run one with: npm run sweep <spec> [-- --profile NAME]`);
}

runCli(main);
