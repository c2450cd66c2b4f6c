// Loading specs: the registry of experiments/, unknown names, bad spec files, profiles.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defineSweep } from '../harness/spec/define.ts';
import { listSpecs, loadSpec } from '../harness/spec/load.ts';
import { checkProfileRequirements, chooseDefaultProfile, findWikitext103 } from '../harness/spec/profile.ts';
import { UserError } from '../harness/contract/errors.ts';

const defineUrl = new URL('../harness/spec/define.ts', import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), 'spec-load-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function specFile(name: string, body: string): void {
  writeFileSync(join(dir, `${name}.ts`), `import { defineSweep } from '${defineUrl}';\nexport default defineSweep(${body});\n`);
}

specFile('good-grid', `{ description: 'a grid', axes: { model: ['gpt2'], method: ['full', 'inrank'] } }`);
specFile('bad-axis', `{ description: 'typo', axes: { model: ['gpt2'], 'inrank.explainedRatoi': [0.8] } }`);
specFile('bad-base', `{ description: 'typo', base: { train: { lrr: 1 } }, axes: { model: ['gpt2'] } }`);
specFile('bad-value', `{ description: 'wrong type', axes: { 'train.lr': ['fast'] } }`);
writeFileSync(join(dir, 'helper.ts'), 'export const notASpec = 1;\n');

test('the repository specs are listed with run counts per profile', async () => {
  const specs = await listSpecs();
  const names = specs.map((s) => s.name);
  for (const n of ['paper-table', 'demo', 'ablation-explained-ratio', 'ablation-buffer', 'ablation-warmup']) assert.ok(names.includes(n), n);
  assert.ok(!names.includes('profiles') && !names.includes('paper-numbers') && !names.includes('scale'), 'helper modules are not specs');
  const table = specs.find((s) => s.name === 'paper-table')!;
  assert.deepEqual(table.runs, { paper: 20, gpu: 20, 'gpu-smoke': 20, cpu: 32, smoke: 20 });
  assert.ok(table.description.length > 10);
});

test('unknown spec: one line with the closest name and the list', async () => {
  await assert.rejects(loadSpec('paper-tabel'), (e: Error) => e instanceof UserError && /unknown spec 'paper-tabel' \(did you mean 'paper-table'\?\); specs: .*demo/.test(e.message));
});

test('a bad spec file: UserError naming the file and the key', async () => {
  await assert.rejects(loadSpec('bad-axis', dir), (e: Error) => e instanceof UserError && e.message.includes(join(dir, 'bad-axis.ts')) && /axes\.inrank\.explainedRatoi: unknown axis or setting \(did you mean 'inrank\.explainedRatio'\?\)/.test(e.message));
  await assert.rejects(loadSpec('bad-base', dir), (e: Error) => e instanceof UserError && /bad-base\.ts:\d+: .*base\.train\.lrr: unknown setting \(did you mean 'train\.lr'\?\)/.test(e.message));
  await assert.rejects(loadSpec('bad-value', dir), (e: Error) => e instanceof UserError && /axes\.train\.lr: value "fast"/.test(e.message));
  const good = await loadSpec('good-grid', dir);
  assert.equal(good.name, 'good-grid', 'named after its file');
  await assert.rejects(loadSpec('helper', dir), /unknown spec 'helper'/);
  const listed = await listSpecs(dir);
  assert.match(listed.find((s) => s.name === 'bad-axis')!.broken ?? '', /bad-axis\.ts:\d+: .*explainedRatoi/, 'listing a folder with a broken spec says which, and where');
  assert.equal(listed.find((s) => s.name === 'good-grid')!.broken, null, 'the others still list');
  const byPath = await loadSpec(join(dir, 'good-grid.ts'));
  assert.equal(byPath.description, 'a grid');
});

test('defineSweep checks at run time what tsc checks at compile time', () => {
  const raw = (x: unknown) => () => defineSweep(x as Parameters<typeof defineSweep>[0]);
  assert.throws(raw({ axes: {} }), /description/);
  assert.throws(raw({ description: 'x', axes: { model: [] } }), /axes\.model.*at least one value/);
  assert.throws(raw({ description: 'x', axes: {}, exclud: [] }), /unknown key \(did you mean 'exclude'\?\)/);
  assert.throws(raw({ description: 'x', axes: { 'stage.kind': ['stage1'] } }), /cannot be an axis/);
  assert.throws(raw({ description: 'x', axes: {}, include: [{ modle: 'gpt2' }] }), /include\[0\]\.modle.*did you mean 'model'/);
  assert.throws(raw({ description: 'x', axes: {}, base: { outDir: '/x' } }), /filled in by the harness/);
});

test('default profile: paper only with a GPU backend and WikiText-103; the reason says why', () => {
  assert.deepEqual(chooseDefaultProfile({ gpuBackend: true, wikitext103: '/data/wt103' }).profile, 'paper');
  const gpuNoData = chooseDefaultProfile({ gpuBackend: true, wikitext103: null });
  assert.equal(gpuNoData.profile, 'gpu-smoke');
  assert.match(gpuNoData.reason, /no WikiText-103/);
  for (const env of [{ gpuBackend: false, wikitext103: '/d' }, { gpuBackend: false, wikitext103: null }]) {
    const choice = chooseDefaultProfile(env);
    assert.equal(choice.profile, 'cpu');
    assert.equal(choice.reason.includes('no GPU backend'), !env.gpuBackend);
    assert.equal(choice.reason.includes('no WikiText-103'), !env.wikitext103);
    assert.ok(!choice.reason.includes('\n'));
  }
});

test('the paper profile refuses to run without its GPU backend or data, saying what is missing', () => {
  assert.throws(() => checkProfileRequirements('paper', { gpuBackend: false, wikitext103: null }), (e: Error) => e instanceof UserError && /GPU backend/.test(e.message) && /--data-dir DIR with wiki\.train\.raw/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => checkProfileRequirements('paper', { gpuBackend: true, wikitext103: null }), (e: Error) => !/GPU backend/.test(e.message) && /--data-dir/.test(e.message));
  assert.throws(() => checkProfileRequirements('paper', { gpuBackend: false, wikitext103: '/d' }), (e: Error) => /GPU backend/.test(e.message) && !/--data-dir/.test(e.message));
  checkProfileRequirements('paper', { gpuBackend: true, wikitext103: '/d' });
  checkProfileRequirements('cpu', { gpuBackend: false, wikitext103: null });
  checkProfileRequirements('smoke', { gpuBackend: false, wikitext103: null });

  const data = join(dir, 'wt103');
  mkdirSync(data);
  assert.equal(findWikitext103(data), null);
  for (const f of ['wiki.train.raw', 'wiki.valid.raw', 'wiki.test.raw']) writeFileSync(join(data, f), 'text');
  assert.equal(findWikitext103(data), data);
  assert.equal(findWikitext103(null), null);
});
