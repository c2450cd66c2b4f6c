// Build time (here, with node_modules): writes the run config of the gpu-smoke profile's gpt2
// full-rank run of the paper-table spec, as the sweep would hand it to a trainer, so that the
// device can time real trainer steps without the sweep (and its SQLite addon). The paths in it
// are relative (the device runs from the repository root of the carried tree).
//   npx tsx scripts/device-kit/run-configs.ts <out-dir> [maxSteps]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandSweep } from '../../harness/spec/expand.ts';
import { loadSpec } from '../../harness/spec/load.ts';

const [outDir, steps = '4'] = process.argv.slice(2);
if (!outDir) throw new Error('usage: run-configs.ts <out-dir> [maxSteps]');
const spec = await loadSpec('paper-table');
const plans = expandSweep(spec, {
  profile: 'gpu-smoke',
  // More steps than the profile's two, so that steps after the first (pipeline compilation) are timed.
  overrides: [`train.maxSteps=${steps}`, 'train.evalEvery=1000', 'train.checkpointEvery=1000'],
  runsDir: '.device-kit-run/runs',
  cacheDir: '.device-kit-run/cache',
});
const gpt2Full = plans.find((p) => p.config.model.nLayer === 12 && p.config.model.nEmbd === 768 && p.config.method === 'full');
if (!gpt2Full) throw new Error(`paper-table on gpu-smoke has no gpt2 full-rank run (runs: ${plans.map((p) => p.name).join(', ')})`);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'gpt2-full.json'), `${JSON.stringify(gpt2Full.config, null, 2)}\n`);
// The same run at a shape the software driver trains in seconds (GPU_FIGURES_SOFTWARE=1).
const small = { ...gpt2Full.config, model: { ...gpt2Full.config.model, nEmbd: 64, nHead: 2, nLayer: 1, context: 32 },
  train: { ...gpt2Full.config.train, microBatch: 2, globalBatch: 2 }, outDir: `${gpt2Full.config.outDir}-small` };
writeFileSync(join(outDir, 'small-full.json'), `${JSON.stringify(small, null, 2)}\n`);
console.log(`${gpt2Full.name}: ${join(outDir, 'gpt2-full.json')} (and small-full.json for the software driver)`);
