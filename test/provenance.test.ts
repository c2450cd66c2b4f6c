// Provenance (issue 18): each run records the git commit and a hash of the uncommitted diff,
// the tfjs package versions and backend, Node, the OS, the CPU, the GPU adapter and the data
// fingerprint; `npm run show` prints them and the report's json export carries them. One real
// tiny run through the CLI, the git facts on scratch repositories, and a resume under other
// code through the store.
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { collectCodeFacts } from '../harness/schedule/code-facts.ts';
import { openStore } from '../harness/store/store.ts';
import { readProvenance } from '../harness/store/provenance.ts';
import { describeRun } from '../harness/cli/describe-run.ts';
import type { StartEvent } from '../harness/contract/protocol.ts';
import type { ProvenanceView } from '../harness/store/provenance.ts';
import { REPO } from './fixtures/harness-cli.ts';
import { testPlan } from './fixtures/harness-plans.ts';

const dir = mkdtempSync(join(tmpdir(), 'provenance-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = promisify(execFile);
const cli = (name: string, args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(REPO, 'harness', 'cli', `${name}.ts`), ...args], { cwd: REPO, timeout: 120_000 });

/** The commit of this checkout as git itself says it, or 'unknown' outside a git checkout. */
function headCommit(): string {
  try {
    return execFileSync('git', ['-C', REPO, 'rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

test('a real run records its provenance; show prints it and the json export carries it', async () => {
  const db = join(dir, 'r.db');
  await cli('sweep', ['demo', '--profile', 'smoke', 'method=full', '--db', db, '--out', join(dir, 'runs')]);
  const { stdout: json } = await cli('report', ['--db', db, '--format', 'json']);
  const exported = JSON.parse(json) as { provenance: Record<string, ProvenanceView | null>; blocks: { rows: { runIds: string[] }[] }[] };
  const runId = exported.blocks[0]!.rows[0]!.runIds[0]!;
  const p = exported.provenance[runId];
  assert.ok(p, 'the json export has the run provenance');
  assert.equal(p.code?.commit, headCommit());
  assert.equal(p.runtime?.node, process.version);
  assert.equal(p.runtime?.packages['@tensorflow/tfjs-core'], '4.22.0');
  assert.ok(p.runtime && p.runtime.cpus > 0 && p.runtime.cpu.length > 0 && p.runtime.os.length > 0);
  assert.ok(Object.keys(p.runtime.packages).some((k) => k !== '@tensorflow/tfjs-core'), 'the backend package version too');
  assert.equal(p.fromStep, 0);
  assert.equal(p.adapter, null, 'no GPU adapter on a cpu backend');

  const { stdout: shown } = await cli('show', [runId, '--db', db]);
  const code = p.code!.commit === 'unknown' ? 'unknown' : `commit ${p.code!.commit}`;
  assert.match(shown, new RegExp(`\\nprovenance\\n\\s+code\\s+${code}`));
  assert.match(shown, new RegExp(`node / os\\s+${process.version.replace(/\./g, '\\.')}, `));
  assert.match(shown, /packages\s+@tensorflow\/tfjs-core 4\.22\.0, @tensorflow\/tfjs-backend-/);
  assert.match(shown, new RegExp(`backend\\s+${p.runtime.backend}, matmul ${p.runtime.matmul}`));
  assert.match(shown, /gpu adapter\s+none/);
});

test('git facts: commit, a stable hash of the uncommitted diff of tracked files, unknown outside a checkout', () => {
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  const git = (...args: string[]): string =>
    execFileSync('git', ['-C', repo, '-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  git('init', '-q');
  assert.equal(collectCodeFacts(repo).commit, 'unknown', 'no commit yet');
  writeFileSync(join(repo, 'a.ts'), 'export const a = 1;\n');
  git('add', 'a.ts');
  git('commit', '-qm', 'one');
  const clean = collectCodeFacts(repo);
  assert.deepEqual(clean, { commit: git('rev-parse', 'HEAD'), diffHash: null, changedFiles: 0 });

  writeFileSync(join(repo, 'untracked.txt'), 'not part of the code');
  assert.deepEqual(collectCodeFacts(repo), clean, 'untracked files are not in the diff');
  writeFileSync(join(repo, 'a.ts'), 'export const a = 2;\n');
  const dirty = collectCodeFacts(repo);
  assert.match(dirty.diffHash ?? '', /^[0-9a-f]{64}$/);
  assert.equal(dirty.changedFiles, 1);
  assert.deepEqual(collectCodeFacts(repo), dirty, 'the same change gives the same hash');
  writeFileSync(join(repo, 'a.ts'), 'export const a = 3;\n');
  assert.notEqual(collectCodeFacts(repo).diffHash, dirty.diffHash, 'another change, another hash');

  const plain = join(dir, 'unpacked');
  mkdirSync(plain);
  assert.deepEqual(collectCodeFacts(plain), { commit: 'unknown', diffHash: null, changedFiles: null, reason: 'not a git checkout' });
  const inside = join(repo, 'bundle');
  mkdirSync(inside);
  assert.equal(collectCodeFacts(inside).commit, 'unknown', "a copy inside another repository is not that repository's code");
});

test('a run resumed under other code keeps the earlier facts; a restart from scratch replaces them; the data fingerprint comes from the stored config', () => {
  const store = openStore(join(dir, 'resume.db'));
  const plan = testPlan({ name: 'resumed', runsDir: join(dir, 'runs') });
  store.addPlans(store.beginSweep('t', 'test', {}), [plan]);
  store.db.prepare(`UPDATE runs SET config = json_set(config, '$.data.fingerprint', json(?)) WHERE id = ?`)
    .run(JSON.stringify({ corpus: 'brown', sha256: 'ab'.repeat(32) }), plan.id);
  const start = (resumedFromStep: number | null, node: string): StartEvent => ({
    type: 'start', time: '', backend: 'cpu', matmul: 'cpu', config: plan.config, params: { total: 1, mlp: 1 }, flopsPerToken: 1,
    scheduleSteps: 10, maxSteps: 10, stepsPerEpoch: 5, resumedFromStep, ranks: null, maxRanks: null,
    runtime: { node, os: 'Linux', cpu: 'cpu', cpus: 2, host: 'h', packages: { '@tensorflow/tfjs-core': '4.22.0' }, backend: 'cpu', matmul: 'cpu', native: null, gpuDriver: null },
  });
  const view = () => readProvenance(store.getRun(plan.id)!)!;

  store.codeFacts = { commit: 'a'.repeat(40), diffHash: null, changedFiles: 0 };
  store.recordEvent(plan.id, start(null, 'v20.0.0'));
  assert.deepEqual(view().data, { corpus: 'brown', sha256: 'ab'.repeat(32) });
  assert.equal(view().earlier, undefined);

  store.codeFacts = { commit: 'b'.repeat(40), diffHash: 'c'.repeat(64), changedFiles: 2 };
  store.recordEvent(plan.id, start(5, 'v20.0.0'));
  assert.equal(view().code?.commit, 'b'.repeat(40));
  assert.equal(view().fromStep, 5);
  assert.deepEqual(view().earlier?.map((e) => [e.code?.commit, e.fromStep]), [['a'.repeat(40), 0]]);
  const shown = describeRun(store, store.getRun(plan.id)!, 5);
  assert.match(shown, /code\s+commit b{40} \+ uncommitted diff sha256:c{64} \(2 file\(s\)\)/);
  assert.match(shown, /earlier start\s+from step 0 .*commit a{40} \(clean\)/);

  store.recordEvent(plan.id, start(7, 'v20.0.0'));
  assert.equal(view().fromStep, 5, 'a resume under the same facts changes nothing');
  store.recordEvent(plan.id, start(null, 'v20.0.0'));
  assert.equal(view().earlier, undefined, 'a restart from scratch trains everything again under the new facts');
  // The facts the trainer was launched with (a detached job stored by a later harness) win.
  store.recordEvent(plan.id, { ...start(null, 'v20.0.0'), code: { commit: 'd'.repeat(40), diffHash: null, changedFiles: 0 } });
  assert.equal(view().code?.commit, 'd'.repeat(40));
  store.close();
});
