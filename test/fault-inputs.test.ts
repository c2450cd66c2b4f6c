// Unclean inputs to `npm run sweep` (issue 19, items 8 and 10), through the real CLI: each is
// one line and exit 2, or is honoured, and a big grid's dry run is linear, not quadratic.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore } from '../harness/store/store.ts';
import { REPO, runCliSync, writeSpec } from './fixtures/harness-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'fault-inputs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const specs = join(dir, 'specs');
const db = join(dir, 'never.db');
// 300 lrs x 100 weight decays = 30,000 single-stage runs.
writeSpec(specs, 'seed-axis', `{ description: 'seeds as an axis', axes: { method: ['full'], 'train.seed': [1, 2, 3] } }`);
writeSpec(specs, 'one', `{ description: 'one run', axes: { method: ['full'] } }`);
writeSpec(specs, 'mid', `{ description: 'a grid of 200', axes: { method: ['full'], 'train.lr': [1e-4, 2e-4], 'train.weightDecay': Array.from({ length: 100 }, (_, i) => i / 1000) } }`);
writeSpec(specs, 'big', `{ description: 'a big grid', axes: { method: ['full'], 'train.lr': Array.from({ length: 300 }, (_, i) => 1e-5 * (i + 1)), 'train.weightDecay': Array.from({ length: 100 }, (_, i) => i / 1000) } }`);

/** The sweep CLI with room for a big table on stdout. */
function sweepCli(args: string[], timeoutMs: number): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'harness', 'cli', 'sweep.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

test('--dry-run of a 30,000-run grid: every row with --limit all, in linear time', () => {
  // The old table (cli-table3) took 22 s for 8,000 rows and grew with their square: minutes here.
  // 60 s leaves room for a loaded 2-core machine; this takes a few seconds on an idle one.
  const r = sweepCli(['big', '--specs-dir', specs, '--profile', 'smoke', '--dry-run', '--limit', 'all', '--db', db], 120_000);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.ms < 60_000, `planning 30,000 runs took ${r.ms} ms`);
  const rows = r.stdout.split('\n').filter((l) => /^│ gpt2-full-fp32-/.test(l));
  assert.equal(rows.length, 30_000);
  assert.equal(new Set(rows.map((l) => l.split('│')[2]!.trim())).size, 30_000, 'every run has its own id');
  assert.match(r.stdout, /^30000 runs \(profile smoke\): 30000 full; 1 model;/m);
  assert.match(r.stdout, /^axes: train\.lr \(300 values\), train\.weightDecay \(100 values\)$/m);
  assert.doesNotMatch(r.stdout, /more run\(s\) not shown/);
  assert.ok(!existsSync(db), 'a dry run stores nothing');
});

test('--dry-run shows the first 50 rows by default and says how many it left out', () => {
  const r = sweepCli(['mid', '--specs-dir', specs, '--profile', 'smoke', '--dry-run', '--db', db], 120_000);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.split('\n').filter((l) => /^│ gpt2-full-fp32-/.test(l)).length, 50);
  assert.match(r.stdout, /^\.\.\. 150 more run\(s\) not shown: the first 50 of 200 \(--limit N shows more, --limit all shows every run\)$/m);
  const few = sweepCli(['mid', '--specs-dir', specs, '--profile', 'smoke', '--dry-run', '--limit', '3', '--db', db], 120_000);
  assert.equal(few.stdout.split('\n').filter((l) => /^│ gpt2-full-fp32-/.test(l)).length, 3);
});

test('--limit that is not a row count: one line, exit 2', () => {
  const r = runCliSync('sweep', ['demo', '--profile', 'smoke', '--dry-run', '--limit', 'some', '--db', db]);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, 'error: --limit some: give a number of rows (0 or more) or all\n');
});

// A trainer that crashes the way a real one does: the error, its stack, then a progress line
// and a Node warning written after it (the last line used to be quoted as the reason).
const crashing = join(dir, 'crashing-trainer.mjs');
writeFileSync(crashing, [
  "process.stderr.write('[train] backend wasm (matmul blas)\\n');",
  "process.stderr.write('[train] Error: device lost while training: CUDA_ERROR_ILLEGAL_ADDRESS\\n    at step (run.ts:10:3)\\n');",
  "process.stderr.write('[train] step 12 loss 3.21 (1,024 tokens/s)\\n(node:4242) Warning: Closing file descriptor 23 on garbage collection\\n');",
  'process.exit(1);',
].join('\n'));

test('a crash is retried and stored with its real error line, not the progress line after it', () => {
  const store = join(dir, 'crash.db');
  const r = runCliSync('sweep', ['one', '--specs-dir', specs, '--profile', 'smoke', '--retries', '1', '--db', store, '--out', join(dir, 'crash-runs'), '--trainer', crashing]);
  assert.equal(r.status, 1, r.stderr);
  const reason = 'crashed (exit 1): Error: device lost while training: CUDA_ERROR_ILLEGAL_ADDRESS';
  assert.ok(r.stdout.split('\n').some((l) => l.startsWith('retrying') && l.endsWith(`: ${reason}`)), `the retry line quotes the error: ${r.stdout}`);
  assert.doesNotMatch(r.stdout + r.stderr, /Closing file descriptor|step 12 loss/);
  const db = openStore(store);
  const [run] = db.listRuns();
  db.close();
  assert.equal(run!.status, 'failed');
  assert.equal(run!.reason, `${reason} (after 2 attempts)`);
});

const mistakes: Array<{ what: string; args: string[]; line: RegExp }> = [
  { what: 'a negative --retries', args: ['one', '--retries', '-1'], line: /^error: --retries -1: give a whole number \(0 or more\)\n$/ },
  { what: 'a negative --max-parallel', args: ['one', '--max-parallel', '-2'], line: /^error: --max-parallel -2: give a whole number of at least 1\n$/ },
  { what: 'a one-token vocabulary', args: ['one', 'model.vocabSize=1'], line: /^error: .*model\.vocabSize: a vocabulary needs at least 2 tokens\n$/ },
  { what: 'a top-1 vocabulary', args: ['one', 'data.vocabTopK=1'], line: /^error: .*data\.vocabTopK: at least 2: K-1 kept tokens plus the unknown id/ },
];

for (const m of mistakes) {
  test(`${m.what}: one line, exit 2, nothing stored`, () => {
    const r = runCliSync('sweep', [...m.args, '--specs-dir', specs, '--profile', 'smoke', '--db', db]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, m.line);
    assert.ok(!existsSync(db), 'nothing stored');
  });
}

test("a train.seed axis is honoured: one run per seed, not the profile's single seed", () => {
  const r = runCliSync('sweep', ['seed-axis', '--specs-dir', specs, '--profile', 'smoke', '--dry-run', '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.match(/gpt2-full-fp32-s\d+/g), ['gpt2-full-fp32-s1', 'gpt2-full-fp32-s2', 'gpt2-full-fp32-s3']);
  // seed=... on the command line replaces the spec's seed axis, as any command-line axis does.
  const cli = runCliSync('sweep', ['seed-axis', '--specs-dir', specs, '--profile', 'smoke', '--dry-run', 'seed=7,8', '--db', db]);
  assert.deepEqual(cli.stdout.match(/gpt2-full-fp32-s\d+/g), ['gpt2-full-fp32-s7', 'gpt2-full-fp32-s8']);
});
