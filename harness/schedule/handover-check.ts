// Before a sweep schedules its runs: a stage 2 that still has to run needs its stage 1's
// hand-over (pruned.ckpt), unless it has a checkpoint of its own to resume from. When the
// hand-over is missing or damaged and the stage 2 has no own checkpoint that verifies, the stage
// 1 is marked for a rerun (interrupted, with the reason): the scheduler then trains it again
// (resuming from its own last checkpoint) before the stage 2. A stage 1 this sweep does not
// run is marked too, and the line says which run to rerun first.
import { join } from 'node:path';
import { checkpointProblem } from '../contract/checkpoint-file.ts';
import type { RunPlan } from '../spec/plan.ts';
import type { Store } from '../store/store.ts';
import { isFinished, launchConfig } from './run-lifecycle.ts';

/** The checkpoint names a trainer resumes from (harness/train/trainer/resume-source.ts). */
const OWN_CHECKPOINTS = ['last.ckpt', 'prev.ckpt'];

/** Marks stage 1s for a rerun where their stage 2 needs a hand-over that is gone; returns one line per finding. */
export function requeueLostHandovers(store: Store, plans: RunPlan[]): string[] {
  const inSweep = new Set(plans.map((p) => p.id));
  const lines: string[] = [];
  for (const plan of plans) {
    if (!plan.dependsOn || plan.config.stage.kind !== 'stage2') continue;
    const row = store.getRun(plan.id);
    const dep = store.getRun(plan.dependsOn);
    // A stage 2 running (another live harness, or an orphan the recovery left) is not judged here.
    if (!row || isFinished(row.status) || row.status === 'running' || dep?.status !== 'done') continue;
    const config = launchConfig(store, row);
    const from = config.stage.from;
    const problem = from ? checkpointProblem(from) : 'is not recorded';
    if (problem === null) continue;
    if (OWN_CHECKPOINTS.some((name) => checkpointProblem(join(config.outDir, name)) === null)) continue;
    const what = `stage 2 ${plan.name} needs the stage-1 checkpoint ${from ?? '(none)'}, which ${problem}, and has no checkpoint of its own`;
    store.finishRun(dep.id, { status: 'interrupted', reason: `to rerun: its checkpoint ${from ?? ''} ${problem}; stage 2 ${plan.name} needs it` });
    lines.push(inSweep.has(dep.id) ? `${what}: its stage 1 ${dep.name} runs again first` : `${what}: rerun a sweep that holds its stage 1 ${dep.name} (${dep.id}), then this one`);
  }
  return lines;
}
