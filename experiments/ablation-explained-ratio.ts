// How the explained-ratio threshold trades rank (size, speed) against perplexity. Edit the list.
import { defineSweep } from '../harness/spec/define.ts';

const EXPLAINED_RATIOS = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

export default defineSweep({
  description: 'InRank explained-ratio threshold 0.5 ... 0.95 on gpt2, with the full-rank baseline',
  axes: { model: ['gpt2'], method: ['inrank'], 'inrank.explainedRatio': EXPLAINED_RATIOS },
  // The baseline the report divides by ("x smaller", "x faster").
  include: [{ model: 'gpt2', method: 'full' }],
});
