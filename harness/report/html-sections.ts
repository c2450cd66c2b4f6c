// The report's sections: which charts each holds and the question each chart answers. The
// README's report section says the same in prose.
import type { ChartKind } from './charts.ts';

export interface Section {
  heading: string;
  kinds: ChartKind[];
  /** The question the section's charts answer, shown above them. */
  answers: string;
  /** Shown when the section has no chart; null: a section only some reports have, left out then. */
  empty: string | null;
}

export const USAGE_HINT =
  'Hover a point for its run and values. Click a legend entry to keep only its lines (shift-click for more, double-click the chart to show all). Drag to pan, scroll to zoom, double-click to reset.';

export const SECTIONS: Section[] = [
  {
    heading: 'Search trials',
    kinds: ['trials'],
    answers: 'How did the search converge: the metric of each trial in proposal order, the best so far as a line, and the trials ASHA pruned at the validation perplexity of the rung that stopped them?',
    empty: null,
  },
  {
    heading: 'Validation perplexity per model',
    kinds: ['valid-vs-step', 'valid-vs-tokens', 'valid-vs-time'],
    answers: 'Which method learns fastest on each model, per optimizer step, per token seen and per second of training? One panel per model, one colour per method (and per swept setting), one line per seed; InRank\'s stage 2 follows its stage 1.',
    empty: 'No validation evaluations recorded yet.',
  },
  {
    heading: 'Training loss per model',
    kinds: ['train-loss'],
    answers: 'Does training itself behave: smooth descent, a jump at InRank\'s pruning, spikes or divergence?',
    empty: 'No training steps recorded yet.',
  },
  {
    heading: 'Metrics against each swept setting',
    kinds: ['metric-vs-setting'],
    answers: 'How does the setting the sweep varies trade perplexity against size and speed, and is the effect larger than the seed-to-seed spread (error bars: mean ± std over seeds)? One line per value of the other settings; the dashed rule is the full-rank run of the same model.',
    empty: 'No setting takes two values among the finished runs.',
  },
  {
    heading: 'Parameters vs perplexity',
    kinds: ['params-vs-ppl'],
    answers: 'What does each method buy in perplexity for its size? Lower and further left is better.',
    empty: 'No finished run with a test perplexity yet.',
  },
  {
    heading: 'Rank per layer (InRank, stage 1 and stage 2)',
    kinds: ['rank-growth'],
    answers: 'When and how far does each layer\'s rank grow, where does it settle, and at what rank does stage 2 train after pruning?',
    empty: 'No rank determinations recorded.',
  },
  {
    heading: 'Singular values at each rank determination (InRank)',
    kinds: ['singular-values'],
    answers: 'What spectrum did each determination see: how fast the singular values fall off, and how that changes as training goes on? One line per determination.',
    empty: 'No rank determinations recorded.',
  },
];
