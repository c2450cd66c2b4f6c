// Where the paper's numbers belong, and what they mean beside ours. The paper ran each model /
// method / precision (/ explained ratio) cell at its own settings; a row that changes any other
// setting (an ablation's buffer size, warmup, lag) is a cell the paper never ran and gets no
// paper number. The caption says what scale the paper's numbers come from and this block's.
import { profiles } from '../../experiments/profiles.ts';
import type { RunConfig } from '../contract/config.ts';
import { withTodaysDefaults } from '../contract/stored-config.ts';
import type { AxisValue } from '../store/sweep-read.ts';
import { valueAt } from './labels.ts';
import { formatCount } from './format.ts';

/** Axes that are part of the paper cell's key: never a reason to drop the paper's number. */
const CELL_KEYS = new Set(['inrank.explainedRatio']);

function without(config: RunConfig, path: string[]): Record<string, unknown> {
  const copy = structuredClone(config) as Record<string, unknown>;
  let cur: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (typeof next !== 'object' || next === null) return copy;
    cur = next as Record<string, unknown>;
  }
  delete cur[path.at(-1)!];
  return copy;
}

/** The setting as the profile gives it, or (where the profile leaves it) the config's default. */
function profileValue(profile: string, config: RunConfig, path: string[]): AxisValue | undefined {
  const base = (profiles as Record<string, { base?: unknown } | undefined>)[profile]?.base;
  const fromProfile = valueAt(base, path);
  return fromProfile ?? valueAt(withTodaysDefaults(without(config, path)), path);
}

/** True when every swept setting of the row other than the cell's own keys is at the profile's value. */
export function paperRanCell(profile: string, axes: Record<string, AxisValue>, config: RunConfig): boolean {
  for (const [key, value] of Object.entries(axes)) {
    if (CELL_KEYS.has(key)) continue;
    if (profileValue(profile, config, key.split('.')) !== value) return false;
  }
  return true;
}

/** Tokens a run of this config sees in the steps it trained. */
export function tokensSeen(config: RunConfig, steps: number): number | null {
  const batch = valueAt(config, 'train.globalBatch');
  const context = valueAt(config, 'model.context');
  return typeof batch === 'number' && typeof context === 'number' ? steps * batch * context : null;
}

const PAPER_SCALE = 'WikiText-103, GPT-2 at full size, context 1024, up to 100 epochs of about 117M tokens';

/** One sentence under a block that shows paper numbers: their scale, this block's, and that they differ. */
export function paperCaption(profile: string, corpora: string[], tokens: number[]): string {
  const seen = tokens.length
    ? Math.min(...tokens) === Math.max(...tokens)
      ? `${formatCount(tokens[0]!)} tokens seen per run`
      : `${formatCount(Math.min(...tokens))}-${formatCount(Math.max(...tokens))} tokens seen per run`
    : 'no finished run yet';
  const corpus = corpora.length ? corpora.join(', ') : 'unknown corpus';
  const same = profile === 'paper' && corpora.every((c) => c === 'wikitext-103');
  return `paper ppl: the paper's test perplexity for the same model, method, precision and explained ratio (${PAPER_SCALE}), shown only where the paper ran that cell. `
    + `This block: profile ${profile}, ${corpus}, ${seen}. `
    + (same ? 'Same scale as the paper.' : 'The scales differ: compare orderings and ratios, not the perplexities themselves.');
}
