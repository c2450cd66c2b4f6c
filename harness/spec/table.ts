// The --dry-run view: the expanded runs as a table, and a one-line summary.
import { runSteps, scheduleSteps } from './cost.ts';
import type { RunPlan } from './plan.ts';
import { renderTable } from './text-table.ts';

/** FLOPs with an SI unit: 3.2 TFLOP, 1.1 EFLOP. */
export function formatFlops(flops: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P', 'E', 'Z'];
  let value = flops;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[i]}FLOP`;
}

/** Steps the run trains; "<=" where the run may stop earlier (epoch bound with early stopping). */
function stepsCell(plan: RunPlan): string {
  const steps = runSteps(plan.config);
  const bounded = plan.config.train.maxSteps !== null && plan.config.train.maxSteps <= scheduleSteps(plan.config);
  const early = plan.config.train.patience !== null;
  return `${bounded && !early ? '' : '<='}${steps}`;
}

/**
 * The runs as a table, the first `limit` of them (all when limit is null). Linear in the runs:
 * a grid of 100,000 runs plans and prints in seconds (text-table.ts says why not cli-table3).
 */
export function formatPlanTable(plans: readonly RunPlan[], limit: number | null = null): string {
  const names = new Map(plans.map((p) => [p.id, p.name]));
  const shown = limit === null ? plans : plans.slice(0, limit);
  const rows = shown.map((p) => {
    const c = p.config;
    const model = `${c.model.name} (${c.model.nEmbd}x${c.model.nLayer})`;
    const depends = p.dependsOn ? (names.get(p.dependsOn) ?? p.dependsOn) : '';
    return [p.name, p.id, model, c.method, c.precision.kind, c.stage.kind, depends, stepsCell(p), formatFlops(p.expectedCost)];
  });
  const head = ['name', 'id', 'model', 'method', 'precision', 'stage', 'depends on', 'steps', 'expected cost'];
  return renderTable(head, rows, ['left', 'left', 'left', 'left', 'left', 'left', 'left', 'right', 'right']);
}

/** The line under a table cut at `limit` rows: how many runs it leaves out and how to see them. */
export function formatLeftOut(total: number, limit: number | null): string | null {
  if (limit === null || total <= limit) return null;
  return `... ${total - limit} more run(s) not shown: the first ${limit} of ${total} (--limit N shows more, --limit all shows every run)`;
}

/** e.g. "26 runs (profile cpu): 6 full, 6 fixed, 14 inrank (7 stage 2 waiting on their stage 1); 3 models; expected 14.1 TFLOP" */
export function formatPlanSummary(plans: readonly RunPlan[]): string {
  if (plans.length === 0) return '0 runs';
  const byMethod = new Map<string, number>();
  for (const p of plans) byMethod.set(p.config.method, (byMethod.get(p.config.method) ?? 0) + 1);
  const methods = [...byMethod].map(([m, n]) => `${n} ${m}`).join(', ');
  const waiting = plans.filter((p) => p.dependsOn).length;
  const models = new Set(plans.map((p) => p.config.model.name)).size;
  const profiles = [...new Set(plans.map((p) => p.profile))].join(', ');
  const total = plans.reduce((sum, p) => sum + p.expectedCost, 0);
  const deps = waiting ? ` (${waiting} stage 2 waiting on their stage 1)` : '';
  return `${plans.length} runs (profile ${profiles}): ${methods}${deps}; ${models} model${models === 1 ? '' : 's'}; expected ${formatFlops(total)} of training`;
}

/** e.g. "axes: train.lr 1250 values, train.weightDecay 80 values": the shape of a big grid at a glance. */
export function formatAxesSummary(plans: readonly RunPlan[]): string | null {
  const values = new Map<string, Set<unknown>>();
  for (const p of plans) {
    for (const [key, value] of Object.entries(p.axes)) {
      let set = values.get(key);
      if (!set) values.set(key, (set = new Set()));
      set.add(value);
    }
  }
  const varying = [...values].filter(([, set]) => set.size > 1).map(([key, set]) => `${key} (${set.size} values)`);
  return varying.length ? `axes: ${varying.join(', ')}` : null;
}
