// Progress lines that fit the terminal: each line is parts with a priority; the least needed
// parts go first, and a name that is still too long loses its middle, never its ends.
import { formatDuration, formatNumber } from './common.ts';
import { fractionDone, type ActiveRun, type ProgressState } from './progress-state.ts';

/** A piece of a line; lower keep = more needed (0 is never dropped). */
export interface Part {
  text: string;
  keep: number;
}

const SEP = '  ';

/** Joins the parts, dropping the least needed until the line fits width (null: no limit). */
export function fitLine(parts: Part[], width: number | null): string {
  let shown = parts.filter((p) => p.text !== '');
  const line = (): string => shown.map((p) => p.text).join(SEP);
  while (width !== null && [...line()].length > width) {
    const worst = Math.max(...shown.map((p) => p.keep));
    if (worst === 0) break;
    const at = shown.map((p) => p.keep).lastIndexOf(worst);
    shown = shown.filter((_, i) => i !== at);
  }
  const text = line();
  if (width === null || [...text].length <= width) return text;
  // Only the essentials left and still too long: shorten the first (the name) in the middle.
  const over = [...text].length - width + 1;
  const name = [...shown[0]!.text];
  const keepChars = Math.max(4, name.length - over);
  const head = Math.ceil(keepChars / 2);
  shown[0] = { ...shown[0]!, text: `${name.slice(0, head).join('')}…${name.slice(name.length - (keepChars - head)).join('')}` };
  return [...line()].slice(0, width).join('');
}

function etaText(state: ProgressState, run: ActiveRun): string {
  const eta = state.eta(run);
  return eta === null ? 'ETA -' : `ETA ${eta.estimated ? '~' : ''}${formatDuration(eta.ms)}`;
}

/** Where the run is: "loading data", "training step 20/100", "evaluating valid (step 50/100)". */
export function phaseText(run: ActiveRun): string {
  const steps = `${run.step}/${run.maxSteps}`;
  if (run.phase === 'training') return `training step ${steps}`;
  if (run.phase === 'starting' || run.phase === 'loading data') return run.phase;
  return `${run.phase} (step ${steps})`;
}

export function runParts(state: ProgressState, run: ActiveRun): Part[] {
  const ranks = [...run.ranks.values()];
  return [
    { text: run.plan.name, keep: 0 },
    { text: run.device, keep: 4 },
    { text: phaseText(run), keep: 0 },
    { text: `${Math.round(100 * fractionDone(run))}%`, keep: 3 },
    { text: run.loss === null ? '' : `loss ${formatNumber(run.loss)}`, keep: 5 },
    { text: run.tokensPerSec === null ? '' : `${Math.round(run.tokensPerSec)} tok/s`, keep: 6 },
    { text: ranks.length ? `rank ${formatNumber(ranks.reduce((a, b) => a + b, 0) / ranks.length, 2)} (mean of ${ranks.length})` : '', keep: 7 },
    { text: etaText(state, run), keep: 1 },
    { text: run.attempt > 1 ? `attempt ${run.attempt}` : '', keep: 2 },
    { text: run.note ?? '', keep: 8 },
  ];
}

export function totalParts(state: ProgressState): Part[] {
  const c = state.counts();
  const eta = state.sweepEta();
  const rate = state.throughput();
  return [
    { text: `sweep: ${c.finished}/${state.total} finished${c.detail.length ? ` (${c.detail.join(', ')})` : ''}`, keep: 0 },
    { text: `${c.running} running`, keep: 2 },
    { text: `${c.waiting} waiting`, keep: 3 },
    { text: `${formatDuration(Date.now() - state.startedAt)} elapsed`, keep: 4 },
    { text: `ETA ${eta === null ? '-' : formatDuration(eta)}`, keep: 1 },
    { text: rate === null ? '' : `at ${formatNumber(rate / 1e6, 2)} GFLOP/s measured`, keep: 5 },
  ];
}
