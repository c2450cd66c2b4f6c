// train.testBatches: the test evaluations cover that many micro-batches of the test split, the
// rest of the run is unchanged, and the default (the whole split) keeps the ids runs had before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunConfig, type RunConfigInput } from '../harness/contract/config.ts';
import { EXIT, type TrainEvent } from '../harness/contract/protocol.ts';
import { train } from '../harness/train/trainer/run.ts';
import { normalizeForId, runIdOf } from '../harness/spec/run-id.ts';

const CACHE = join(tmpdir(), 'inrank-engine-test-cache');
const dir = mkdtempSync(join(tmpdir(), 'engine-test-cap-'));

const config = (name: string, testBatches: number | null): RunConfigInput => ({
  name,
  model: { nEmbd: 32, nHead: 2, nLayer: 1, context: 64, vocabSize: 128 },
  data: { vocabTopK: 128, cacheDir: CACHE },
  train: { globalBatch: 8, microBatch: 4, maxSteps: 2, evalEvery: 100, evalBatches: 1, testBatches, checkpointEvery: 100, lr: 0.003, warmupSteps: 1 },
  backend: 'wasm',
  outDir: join(dir, name),
});

async function evals(input: RunConfigInput): Promise<Extract<TrainEvent, { type: 'eval' }>[]> {
  const events: TrainEvent[] = [];
  const code = await train(parseRunConfig(input), { emit: (e) => events.push(e), log: () => {}, stopRequested: () => false });
  assert.equal(code, EXIT.ok);
  return events.filter((e): e is Extract<TrainEvent, { type: 'eval' }> => e.type === 'eval');
}

test('testBatches caps the test split and nothing else; the default tests on all of it', async () => {
  const whole = await evals(config('whole', null));
  const one = await evals(config('one', 1));
  const two = await evals(config('two', 2));
  const huge = await evals(config('huge', 100_000));
  const testLoss = (e: typeof whole) => e.find((x) => x.split === 'test')!.loss;
  const validLoss = (e: typeof whole) => e.find((x) => x.split === 'valid')!.loss;
  // Same training and validation in every run (the cap reads only the test split).
  for (const run of [one, two, huge]) assert.equal(validLoss(run), validLoss(whole));
  // One and two micro-batches are different subsets of the split, each short of all of it.
  assert.notEqual(testLoss(one), testLoss(whole));
  assert.notEqual(testLoss(two), testLoss(one));
  assert.notEqual(testLoss(two), testLoss(whole));
  // A cap past the split's size is the whole split.
  assert.equal(testLoss(huge), testLoss(whole));
});

test('testBatches null is left out of the run id (ids from before it existed hold); a cap is a new run', () => {
  const whole = parseRunConfig(config('whole', null));
  assert.equal('testBatches' in (normalizeForId(whole).train as object), false);
  assert.notEqual(runIdOf(parseRunConfig(config('one', 1))), runIdOf(whole));
  assert.equal(runIdOf(parseRunConfig(config('renamed', null))), runIdOf(whole));
});
