// Stage 1 of InRank does not run at one cost: every layer's active width k = current rank +
// buffer grows as ranks are determined. Its average training FLOPs per token is rebuilt from
// the run's own figures: the FLOPs at its start (k = init + buffer per layer) and at the pruned
// ranks (stage 2's start, k = rank), which fix the cost of one unit of k (FLOPs are linear in
// each layer's k), and the rank history, which says how k moved over the stage's steps.
import type { RankPoint, ReportRun } from '../store/sweep-read.ts';

/**
 * Mean training FLOPs per token over stage 1's optimizer steps. Falls back to stage 1's start
 * figure when the history cannot be calibrated (no growth, or figures missing).
 */
export function stageOneFlopsPerToken(s1: ReportRun, s2: ReportRun | null, events: RankPoint[]): number | null {
  const fStart = s1.row.flops_per_token_start;
  if (fStart === null) return s1.row.flops_per_token;
  const steps = s1.row.steps ?? 0;
  const maxRanks = s1.maxRanks;
  const pruned = s2?.ranks ?? s1.ranks;
  const fEnd = s2?.row.flops_per_token_start ?? s1.row.flops_per_token;
  const { initModes: init, bufferModes: buffer } = s1.config.inrank;
  if (!maxRanks || !pruned || fEnd === null || steps <= 0 || events.length === 0) {
    return fStart;
  }

  const layers = Object.keys(maxRanks);
  const activeAt = (layer: string, modes: number): number => Math.min(modes + buffer, maxRanks[layer]!);
  const k0 = layers.reduce((sum, l) => sum + activeAt(l, init), 0);
  const kPruned = layers.reduce((sum, l) => sum + (pruned[l] ?? activeAt(l, init)), 0);
  if (k0 === kPruned) return fStart;
  const perUnitK = (fStart - fEnd) / (k0 - kPruned);
  if (!Number.isFinite(perUnitK)) return fStart;

  // Sum over steps 1..steps of (k(t) - k0), k(t) piecewise constant: a determination logged at
  // step s applies from step s + 1 on.
  const byLayer = new Map<string, RankPoint[]>();
  for (const e of events) {
    if (!(e.layer in maxRanks)) continue;
    const list = byLayer.get(e.layer);
    if (list) list.push(e);
    else byLayer.set(e.layer, [e]);
  }
  let extraK = 0;
  for (const [layer, list] of byLayer) {
    list.sort((a, b) => a.step - b.step || a.counter - b.counter);
    let k = activeAt(layer, init);
    let from = 1;
    const base = k;
    for (const e of list) {
      const until = Math.min(e.step, steps);
      if (until >= from) {
        extraK += (k - base) * (until - from + 1);
        from = until + 1;
      }
      k = activeAt(layer, e.currentModes);
    }
    if (from <= steps) extraK += (k - base) * (steps - from + 1);
  }
  return fStart + (perUnitK * extraK) / steps;
}
