// The paper's minimum demo: gpt2 with InRank-Efficient, stage 1 (rank growth, then prune) and
// stage 2 (train on at the pruned ranks).
import { defineSweep } from '../harness/spec/define.ts';

export default defineSweep({
  description: "the paper's minimum demo: gpt2 InRank, stage 1 then stage 2",
  axes: { model: ['gpt2'], method: ['inrank'] },
});
