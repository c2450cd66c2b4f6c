// ASHA's adapter to a running search: it watches the validation events of the trials' runs (the
// scheduler's early-stop hook), decides at each rung with the pure rules of asha.ts, and stores
// every decision with its reason. A trial is compared with the trials it was proposed from (all
// finished by then), so a decision never depends on which runs happen to be in flight, and a
// rerun that replays a rung finds the stored decision instead of deciding again.
import type { TrainEvent } from '../contract/protocol.ts';
import type { RunConfig } from '../contract/config.ts';
import type { EarlyStopHook } from '../schedule/early-stop-hook.ts';
import type { RunPlan } from '../spec/plan.ts';
import { prunedRung, recordRung, rungDecision, rungValues } from '../store/search-store.ts';
import type { Store } from '../store/store.ts';
import { decideAtRung, rungsOf } from './asha.ts';

export interface AshaConfig {
  minTokens: number;
  reductionFactor: number;
}

/** Training tokens per optimizer step of a run. */
export const tokensPerStep = (c: RunConfig): number => c.train.globalBatch * c.model.context;

/** A trial's full budget in tokens: its last stage's max steps (a stage 2 continues stage 1's count). */
export function budgetTokens(c: RunConfig): number | null {
  return c.train.maxSteps === null ? null : c.train.maxSteps * tokensPerStep(c);
}

export class AshaMonitor implements EarlyStopHook {
  private readonly trialOf = new Map<string, { trial: number; basis: number }>();

  constructor(
    private readonly store: Store,
    private readonly searchId: number,
    readonly config: AshaConfig,
  ) {}

  /** The runs of trial `trial`, which was proposed from trials 0 .. basis-1. */
  track(plans: readonly RunPlan[], trial: number, basis: number): void {
    for (const p of plans) this.trialOf.set(p.id, { trial, basis });
  }

  rungs(c: RunConfig): number[] {
    return rungsOf({ ...this.config, maxTokens: budgetTokens(c) });
  }

  onEvent(plan: RunPlan, event: TrainEvent): string | null {
    const t = this.trialOf.get(plan.id);
    if (!t) return null;
    // A run resumed after its trial was pruned (the harness died, or Ctrl-C came, between the
    // decision and the stop) may not pass that rung's validation again: it stops at once.
    if (event.type === 'start') {
      const pruned = prunedRung(this.store, this.searchId, t.trial);
      return pruned ? `pruned by ASHA: ${pruned.reason}` : null;
    }
    if (event.type !== 'eval' || event.split !== 'valid') return null;
    // Steps count on across stages, so a stage 2's tokens include its stage 1's. Only the
    // validation at a rung's own step decides it (the trials validate there by construction): a
    // later one, e.g. of a run resumed past the rung, would compare a longer-trained value.
    const tps = tokensPerStep(plan.config);
    const rungs = this.rungs(plan.config);
    const k = rungs.findIndex((t) => Math.ceil(t / tps) === event.step);
    if (k < 0) return null;
    const stored = rungDecision(this.store, this.searchId, t.trial, k);
    if (stored) return stored.decision === 'prune' ? stored.reason : null;
    const basisTrials = Array.from({ length: t.basis }, (_, i) => i);
    const peers = rungValues(this.store, this.searchId, k, basisTrials);
    const d = decideAtRung(k, event.ppl, peers, this.config.reductionFactor);
    const reason = `${d.reason} (rung at ${rungs[k]!.toLocaleString('en-US')} tokens, step ${event.step})`;
    recordRung(this.store, {
      search_id: this.searchId, trial: t.trial, rung: k, tokens: rungs[k]!, run_id: plan.id, step: event.step,
      value: Number.isNaN(event.ppl) ? Infinity : event.ppl, decision: d.decision, reason,
    });
    return d.decision === 'prune' ? `pruned by ASHA: ${reason}` : null;
  }
}
