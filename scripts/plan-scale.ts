// How long `npm run sweep <spec> -- --dry-run` takes to plan a big grid: expansion, the full
// table (every row, as --limit all prints it) and the summaries, for 10,000 and 100,000 runs,
// with the ratio between them (10 when planning is linear). Baseline, measured in the same
// run: cli-table3, which drew the dry-run table before, on the first 4,000 rows only (its time
// grows with the square of the rows; 100,000 of them did not finish in 15 minutes).
//   npx tsx scripts/plan-scale.ts [runs]        (default 100000)
import Table from 'cli-table3';
import { defineSweep } from '../harness/spec/define.ts';
import { expandSweep } from '../harness/spec/expand.ts';
import type { RunPlan } from '../harness/spec/plan.ts';
import { formatAxesSummary, formatPlanSummary, formatPlanTable } from '../harness/spec/table.ts';

/** A grid of single-stage full-rank runs: lrs x 100 weight decays x 10 seeds = `runs` (a multiple of 1,000). */
function bigSpec(runs: number) {
  const lrs = Math.max(1, Math.round(runs / 1000));
  return defineSweep({
    name: 'plan-scale',
    description: `a ${runs}-run grid`,
    axes: {
      method: ['full'],
      'train.lr': Array.from({ length: lrs }, (_, i) => 1e-5 * (i + 1)),
      'train.weightDecay': Array.from({ length: 100 }, (_, i) => i / 1000),
    },
    seeds: Array.from({ length: 10 }, (_, i) => 1000 + i),
  });
}

function timed<T>(work: () => T): { value: T; ms: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = work();
  const cpu = process.cpuUsage(c0);
  return { value, ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Plans a grid as the dry run does: expand, draw every row, summarise. */
function plan(runs: number): { plans: RunPlan[]; expandMs: number; tableMs: number; ms: number; cpuMs: number; bytes: number } {
  const spec = bigSpec(runs);
  const expand = timed(() => expandSweep(spec, { profile: 'smoke', runsDir: 'results/runs' }));
  const table = timed(() => [formatPlanTable(expand.value, null), formatPlanSummary(expand.value), formatAxesSummary(expand.value)].join('\n'));
  return { plans: expand.value, expandMs: expand.ms, tableMs: table.ms, ms: expand.ms + table.ms, cpuMs: expand.cpuMs + table.cpuMs, bytes: table.value.length };
}

/** The old dry-run table: cli-table3 with the same columns, on `rows` runs. */
function cliTable3(plans: readonly RunPlan[]): number {
  return timed(() => {
    const t = new Table({ head: ['name', 'id', 'model', 'method', 'precision', 'stage', 'depends on', 'steps', 'expected cost'], style: { head: [], border: [], compact: true } });
    for (const p of plans) t.push([p.name, p.id, p.config.model.name, p.config.method, p.config.precision.kind, p.config.stage.kind, '', '8', '1 MFLOP']);
    return t.toString();
  }).ms;
}

const big = Number(process.argv[2] ?? 100_000);
plan(8_000); // warm the JIT
const small = plan(big / 10);
const large = plan(big);
const baseRows = 4_000;
const oldMs = cliTable3(large.plans.slice(0, baseRows));
const newMs = timed(() => formatPlanTable(large.plans.slice(0, baseRows))).ms;
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
console.log(`${small.plans.length} runs planned in ${s(small.ms)} (expand ${s(small.expandMs)}, table of every row ${s(small.tableMs)}); cpu ${s(small.cpuMs)}`);
console.log(`${large.plans.length} runs planned in ${s(large.ms)} (expand ${s(large.expandMs)}, table of every row ${s(large.tableMs)}, ${(large.bytes / 1e6).toFixed(1)} MB of text); cpu ${s(large.cpuMs)}`);
console.log(`linearity: ${(large.plans.length / small.plans.length).toFixed(1)}x the runs took ${(large.ms / small.ms).toFixed(1)}x the time`);
console.log(`baseline, ${baseRows} rows: cli-table3 ${s(oldMs)}, this table ${s(newMs)}: ${(oldMs / newMs).toFixed(0)}x faster`);
