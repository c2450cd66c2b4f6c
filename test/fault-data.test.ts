// Data in a run's identity, locations from the command line, data checked while planning
// (issue 18, items 1-3 and 5), through the real sweep CLI and the real trainer on a tiny
// WikiText-2-shaped folder built from the test fixture.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseSweepArgs, prepareSweep } from '../harness/cli/sweep-input.ts';
import { UserError } from '../harness/contract/errors.ts';
import { planSlots } from '../harness/schedule/devices.ts';
import { LocalExecutor } from '../harness/schedule/local-executor.ts';
import { runSweep } from '../harness/schedule/run-sweep.ts';
import { runIdOf } from '../harness/spec/run-id.ts';
import { openStore } from '../harness/store/store.ts';
import { loadCorpus } from '../harness/train/data/corpus.ts';
import { REPO, runCliSync, writeSpec } from './fixtures/harness-cli.ts';
import { SCRIPTED_CHILD, script } from './fixtures/harness-scripts.ts';

const dir = mkdtempSync(join(tmpdir(), 'fault-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const specs = join(dir, 'specs');
writeSpec(specs, 'one-run', `{ description: 'one full-rank run', axes: { model: ['gpt2'], method: ['full'] } }`);
// Two steps of the smoke profile's smallest model: the whole training is a few seconds.
const TINY = ['one-run', '--specs-dir', specs, '--profile', 'smoke', 'train.maxSteps=2', 'train.evalEvery=2', '--retries', '0'];

/** A WikiText-2-shaped folder: the fixture's text repeated until every split holds a few windows of context 32. */
function wikiFolder(path: string): string {
  mkdirSync(path, { recursive: true });
  const fixture = new URL('./fixtures/data-wikitext/raw/', import.meta.url).pathname;
  for (const split of ['train', 'valid', 'test']) {
    const text = readFileSync(join(fixture, `wiki.${split}.raw`), 'utf8');
    writeFileSync(join(path, `wiki.${split}.raw`), text.repeat(split === 'train' ? 6 : 4));
  }
  return path;
}

function sweep(args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'harness/cli/sweep.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const fileHash = (path: string): string => (existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'absent');

function storedRuns(db: string) {
  const store = openStore(db);
  try {
    return store.listRuns();
  } finally {
    store.close();
  }
}

test('edited data trains again, moved data trains nothing; the fingerprint is stored and the token cache follows --cache-dir', async () => {
  const db = join(dir, 'ident.db');
  const cache = join(dir, 'ident-cache');
  const first = wikiFolder(join(dir, 'wiki-a'));
  const args = (data: string) => [...TINY, '--db', db, '--out', join(dir, 'ident-runs'), '--cache-dir', cache, '--data-dir', data];

  const one = sweep(args(first));
  assert.equal(one.status, 0, one.out + one.err);
  assert.match(one.out, /data: --data-dir selects wikitext-2 in place of profile smoke's Brown corpus/);
  assert.match(one.out, /data: wikitext-2 from .*wiki-a \(raw files; hashed 3 of 3 files; fingerprint [0-9a-f]{12}\)/);
  const [run] = storedRuns(db);
  assert.equal(run!.status, 'done', run!.error ?? '');
  const config = JSON.parse(run!.config) as { data: { corpus: string; fingerprint: string; cacheDir: string } };
  assert.equal(config.data.corpus, 'wikitext-2');
  assert.match(config.data.fingerprint, /^[0-9a-f]{32}$/);
  // The token cache and the hash cache are in --cache-dir, none beside --out.
  assert.ok(readdirSync(cache).some((f) => f.startsWith('wikitext-2-raw-train.') && f.endsWith('.tok')), readdirSync(cache).join(' '));
  assert.ok(existsSync(join(cache, 'data-fingerprints.json')));
  assert.ok(!existsSync(join(dir, 'cache')), 'no cache beside --out when --cache-dir is given');

  // The same files in another folder: the same run, already finished.
  const moved = join(dir, 'wiki-moved');
  renameSync(first, moved);
  const two = sweep(args(moved));
  assert.equal(two.status, 0, two.out + two.err);
  assert.match(two.out, /1 of 1 runs already finished in earlier sweeps/);
  assert.match(two.out, /hashed 3 of 3 files/, 'new paths are hashed again');
  assert.equal(storedRuns(db).length, 1);

  // One line more in the train file: new data, a new run that trains.
  appendFileSync(join(moved, 'wiki.train.raw'), ' = Another Heading = \n');
  const three = sweep(args(moved));
  assert.equal(three.status, 0, three.out + three.err);
  assert.doesNotMatch(three.out, /already finished/);
  assert.match(three.out, /hashed 1 of 3 files/, 'the two unchanged files come from the hash cache (path, size, mtime)');
  const runs = storedRuns(db);
  assert.equal(runs.length, 2);
  assert.ok(runs.every((r) => r.status === 'done'));
  const fingerprints = runs.map((r) => (JSON.parse(r.config) as { data: { fingerprint: string } }).data.fingerprint);
  assert.notEqual(fingerprints[0], fingerprints[1]);
});

test('data problems are refused while planning, --dry-run included: one line, exit 2, the database untouched', () => {
  const db = join(dir, 'ident.db');
  const before = fileHash(db);
  const empty = join(dir, 'empty-folder');
  mkdirSync(empty);
  const mixed = wikiFolder(join(dir, 'mixed-layout'));
  renameSync(join(mixed, 'wiki.valid.raw'), join(mixed, 'wiki.valid.tokens'));
  const binary = wikiFolder(join(dir, 'binary'));
  writeFileSync(join(binary, 'wiki.test.raw'), Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x10]));
  const good = wikiFolder(join(dir, 'wiki-good'));
  // Each with --dry-run; the first three also as a real sweep (the same planning code runs first).
  const cases: Array<{ args: string[]; says: RegExp }> = [
    { args: ['--data-dir', join(dir, 'nowhere')], says: /--data-dir .*nowhere does not exist/ },
    { args: ['--data-dir', binary], says: /wiki\.test\.raw is binary/ },
    { args: ['data.corpus=wikitext-2'], says: /data\.corpus wikitext-2 needs a data folder: pass --data-dir DIR/ },
    { args: ['--data-dir', empty], says: /--data-dir: folder .*empty-folder is missing WikiText files: .*it has none of them/ },
    { args: ['--data-dir', mixed], says: /it has only wiki\.train\.raw, wiki\.test\.raw, wiki\.valid\.tokens/ },
    { args: ['--data-dir', good, 'data.corpus=brown'], says: /names a WikiText folder, but data\.corpus=brown reads the packaged Brown corpus/ },
    { args: ['model.vocabSize=1000'], says: /model\.vocabSize is 1000 but its data has \d+ tokens .*set model\.vocabSize=\d+ or data\.vocabTopK=1000/ },
  ];
  for (const [i, c] of cases.entries()) {
    for (const dry of i < 3 ? [[], ['--dry-run']] : [['--dry-run']]) {
      const r = sweep([...TINY, '--db', db, '--out', join(dir, 'ident-runs'), ...c.args, ...dry]);
      assert.equal(r.status, 2, `${c.args.join(' ')} ${dry.join(' ')}: ${r.out}${r.err}`);
      assert.equal(r.out, '', `nothing on stdout for ${c.args.join(' ')}`);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, c.says);
    }
  }
  assert.equal(fileHash(db), before, 'the database is unchanged');
});

test('the trainer refuses data that changed after planning; a rerun naming a good copy trains that run, in the --out it names', async () => {
  const db = join(dir, 'fix.db');
  const good = wikiFolder(join(dir, 'fix-good'));
  const bad = join(dir, 'fix-bad');
  cpSync(good, bad, { recursive: true });
  const oldOut = join(dir, 'fix-old-runs');
  const command = parseSweepArgs([...TINY, '--db', db, '--out', oldOut, '--data-dir', bad]);
  assert.equal(command.kind, 'sweep');
  if (command.kind !== 'sweep') return;
  const prepared = await prepareSweep(command.input);
  // The folder planned on is edited before its run starts (a copy still being written, a disk swapped).
  writeFileSync(join(bad, 'wiki.valid.raw'), ' = Something Else Entirely = \n'.repeat(20));
  const store = openStore(db);
  const summary = await runSweep({
    store, spec: 'one-run', profile: 'smoke', plans: prepared.plans, slots: planSlots('cpu:1', { gpus: [], cores: 2 }),
    retries: 0, executor: new LocalExecutor(), args: {},
  });
  const id = prepared.plans[0]!.id;
  const failed = store.getRun(id)!;
  store.close();
  assert.equal(summary.exitCode, 1);
  assert.equal(failed.status, 'failed');
  assert.match(failed.reason ?? '', /user error: data: the files in .*fix-bad changed since this run was planned/);

  // The rerun names the good copy (same contents as planned: the same id) and a new --out.
  const newOut = join(dir, 'fix-new-runs');
  const rerun = sweep([...TINY, '--db', db, '--out', newOut, '--data-dir', good]);
  assert.equal(rerun.status, 0, rerun.out + rerun.err);
  const fixed = storedRuns(db);
  assert.equal(fixed.length, 1);
  assert.equal(fixed[0]!.id, id);
  assert.equal(fixed[0]!.status, 'done', fixed[0]!.error ?? '');
  assert.equal(fixed[0]!.run_dir, join(newOut, id));
  const config = JSON.parse(fixed[0]!.config) as { outDir: string; data: { dataDir: string } };
  assert.equal(config.outDir, join(newOut, id));
  assert.equal(config.data.dataDir, good);
  assert.ok(existsSync(join(newOut, id, 'config.json')), 'the run trained in the new --out');
  assert.ok(readdirSync(join(dir, 'cache')).some((f) => f.endsWith('.tok')), 'the token cache defaults to cache/ beside --out');
});

test('a run resumes only from a checkpoint in the --out the rerun names: elsewhere it starts over, keeping no rows of the old attempt', () => {
  const db = join(dir, 'move.db');
  const run = (out: string, attempts: string, extra: string[] = []) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'harness/cli/sweep.ts'), ...TINY, '--db', db, '--out', out, '--trainer', SCRIPTED_CHILD, ...extra], {
      cwd: REPO, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SCRIPTED_CHILD_ATTEMPTS: attempts },
    });
    return { status: r.status, out: r.stdout + r.stderr };
  };
  const lastInvocation = (folder: string) => JSON.parse(readFileSync(join(folder, 'invocations.jsonl'), 'utf8').trim().split('\n').at(-1)!) as { resume: boolean; resumedFromStep: number | null };
  const trainSteps = (id: string) => {
    const store = openStore(db);
    try {
      return store.metrics(id, 'train').map((m) => m.step);
    } finally {
      store.close();
    }
  };
  const [a, b, c] = ['move-a', 'move-b', 'move-c'].map((n) => join(dir, n));
  assert.equal(run(a!, '[{"kind":"crash","crashAt":3}]').status, 1);
  const id = storedRuns(db)[0]!.id;
  assert.deepEqual(trainSteps(id), [1, 2]);
  // A new --out: the checkpoint left in the old folder is not used; the run starts over.
  const moved = run(b!, '[{"kind":"ok"}]');
  assert.equal(moved.status, 0, moved.out);
  assert.equal(lastInvocation(join(b!, id)).resume, false);
  assert.equal(lastInvocation(join(b!, id)).resumedFromStep, null);
  assert.deepEqual(trainSteps(id), [1, 2, 3, 4, 5], 'one row per step: none left from the old attempt');
  assert.equal(storedRuns(db)[0]!.run_dir, join(b!, id));
  // The folder moved with its checkpoint: the run resumes from it where the command line points.
  assert.equal(run(b!, '[{"kind":"crash","crashAt":3}]', ['--rerun', 'all']).status, 1);
  renameSync(b!, c!);
  assert.equal(run(c!, '[{"kind":"ok"}]').status, 0);
  assert.equal(lastInvocation(join(c!, id)).resumedFromStep, 2);
  assert.deepEqual(trainSteps(id), [1, 2, 3, 4, 5]);
});

test('a stage 2 rerun after the results folder was moved by hand finds its stage 1 checkpoint under the new --out', async () => {
  const db = join(dir, 'stage2.db');
  const [a, b] = ['stage2-a', 'stage2-b'].map((n) => join(dir, n));
  const args = (out: string) => ['demo', '--profile', 'smoke', '--retries', '0', '--db', db, '--out', out, '--trainer', SCRIPTED_CHILD];
  const command = parseSweepArgs(args(a!));
  assert.equal(command.kind, 'sweep');
  if (command.kind !== 'sweep') return;
  const [stage1, stage2] = (await prepareSweep(command.input)).plans;
  assert.equal(stage2!.dependsOn, stage1!.id);
  script(stage2!, { kind: 'crash', crashAt: 1 });
  const run = (out: string) => spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'harness/cli/sweep.ts'), ...args(out)], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  assert.equal(run(a!).status, 1);
  assert.equal(storedRuns(db).find((r) => r.id === stage2!.id)!.status, 'failed');
  renameSync(a!, b!); // stage 1's recorded checkpoint path is gone; the same file is under the new --out
  writeFileSync(join(b!, stage2!.id, 'script.json'), JSON.stringify({ attempts: [{ kind: 'crash', crashAt: 1 }, { kind: 'ok' }] }));
  const again = run(b!);
  assert.equal(again.status, 0, again.stdout + again.stderr);
  const runs = storedRuns(db);
  assert.equal(runs.find((r) => r.id === stage2!.id)!.status, 'done');
  assert.equal(runs.find((r) => r.id === stage2!.id)!.run_dir, join(b!, stage2!.id));
  const invocations = readFileSync(join(b!, stage2!.id, 'invocations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stageFrom: string });
  assert.equal(invocations.at(-1)!.stageFrom, join(b!, stage1!.id, 'pruned.ckpt'));
  const stored = JSON.parse(runs.find((r) => r.id === stage2!.id)!.config) as { outDir: string; stage: { from: string } };
  assert.deepEqual([stored.outDir, stored.stage.from], [join(b!, stage2!.id), join(b!, stage1!.id, 'pruned.ckpt')], 'the stored config says where it ran from');
});

test('--rerun failed starts failed runs again from step 0, --rerun all every run; without it finished runs are kept', () => {
  const db = join(dir, 'rerun.db');
  const base = [...TINY, '--db', db, '--out', join(dir, 'rerun-runs'), '--trainer', SCRIPTED_CHILD];
  const run = (args: string[], attempts: string) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'harness/cli/sweep.ts'), ...base, ...args], {
      cwd: REPO, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SCRIPTED_CHILD_ATTEMPTS: attempts },
    });
    return { status: r.status, out: r.stdout + r.stderr };
  };
  const invocations = () => {
    const [row] = storedRuns(db);
    return readFileSync(join(row!.run_dir, 'invocations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { resume: boolean });
  };
  assert.equal(run([], '[{"kind":"userError"}]').status, 1);
  assert.equal(storedRuns(db)[0]!.status, 'failed');
  const again = run(['--rerun', 'failed'], '[{"kind":"ok"}]');
  assert.equal(again.status, 0, again.out);
  assert.match(again.out, /--rerun failed: 1 failed, skipped or diverged run\(s\) of this sweep start again from step 0/);
  assert.equal(storedRuns(db)[0]!.status, 'done');
  assert.equal(invocations().at(-1)!.resume, false, 'started from step 0, not resumed');
  const kept = run(['--rerun', 'failed'], '[{"kind":"ok"}]');
  assert.match(kept.out, /--rerun failed: 0 failed/);
  assert.match(kept.out, /1 of 1 runs already finished/);
  assert.equal(invocations().length, 2);
  const all = run(['--rerun', 'all'], '[{"kind":"ok"}]');
  assert.equal(all.status, 0, all.out);
  assert.match(all.out, /--rerun all: 1 stored run\(s\) of this sweep start again from step 0/);
  assert.equal(invocations().length, 3);
  assert.equal(storedRuns(db)[0]!.attempts, 1);
  assert.match(run(['--rerun', 'some'], '[]').out, /^error: --rerun some: give failed .* or all/m);
});

test('a run finished before fingerprints is still listed and shown, and its sweep trains it again under the new id, saying why', async () => {
  const db = join(dir, 'legacy.db');
  const base = [...TINY, '--db', db, '--out', join(dir, 'legacy-runs'), '--trainer', SCRIPTED_CHILD];
  const command = parseSweepArgs(base);
  assert.equal(command.kind, 'sweep');
  if (command.kind !== 'sweep') return;
  const [plan] = (await prepareSweep(command.input)).plans;
  // What the previous version stored: the same settings, no fingerprint, an id without it.
  const config = { ...plan!.config, data: { ...plan!.config.data, fingerprint: undefined } };
  const old = { ...plan!, id: runIdOf(config), config };
  const store = openStore(db);
  const sweepId = store.beginSweep('one-run', 'smoke', {});
  store.addPlans(sweepId, [old]);
  store.markStarted(old.id, { executor: 'local', jobId: null, device: 'cpu0' });
  store.finishRun(old.id, { status: 'done', reason: 'finished' });
  store.finishSweep(sweepId, 'done');
  store.close();
  assert.notEqual(old.id, plan!.id);

  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'harness/cli/sweep.ts'), ...base], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`1 run\\(s\\) of this sweep were finished before data fingerprints were part of run ids \\(${old.id}\\)`));
  const runs = storedRuns(db);
  assert.deepEqual(runs.map((x) => [x.id, x.status]).sort(), [[old.id, 'done'], [plan!.id, 'done']].sort());
  const listed = runCliSync('runs', ['--db', db, '--format', 'json']);
  assert.equal(listed.status, 0, listed.stderr);
  assert.ok(listed.stdout.includes(old.id) && listed.stdout.includes(plan!.id));
  const shown = runCliSync('show', [old.id, '--db', db]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(old.id));
});

test('the trainer checks the data against the fingerprint its run was planned with (loadCorpus)', async () => {
  const folder = wikiFolder(join(dir, 'load-check'));
  const data = { corpus: 'wikitext-2' as const, dataDir: folder, cacheDir: join(dir, 'load-cache'), vocabTopK: null };
  await assert.rejects(loadCorpus({ ...data, fingerprint: '0'.repeat(32) }, () => {}), (e: unknown) => e instanceof UserError && /changed since this run was planned/.test(e.message));
  await loadCorpus(data, () => {}); // no fingerprint (a hand-written config): nothing to check
});
