// How the buffer (extra modes trained beyond the current rank) affects growth and perplexity.
// Values are multiples of the profile's own buffer (paper 100, cpu 12, smoke 6). Edit the list.
import { defineSweep } from '../harness/spec/define.ts';
import { perProfileAxis, scaledInRank } from './scale.ts';

const BUFFER_FACTORS = [0.25, 0.5, 1, 2];

export default defineSweep({
  description: "InRank buffer_modes at 1/4, 1/2, 1 and 2 times the profile's buffer, on gpt2",
  axes: { model: ['gpt2'], method: ['inrank'], 'inrank.bufferModes': scaledInRank('paper', 'bufferModes', BUFFER_FACTORS) },
  profiles: perProfileAxis('inrank.bufferModes', (p) => scaledInRank(p, 'bufferModes', BUFFER_FACTORS)),
});
