// Nothing silently wrong: damaged checkpoints through the real CLI and the real trainer (smoke
// shapes). An InRank sweep (stage 1 + stage 2, two seeds) is interrupted while both stage 2s
// train; then its files are damaged the ways a disk or a person damages them (random bytes,
// 64 flipped bytes, a broken header, truncation, zeroing, a deleted hand-over, a stale temp file)
// and the sweep is run again. Every run must end done with the test perplexity of an
// uninterrupted sweep, bit for bit: a damaged checkpoint is never loaded, the run restarts from
// its previous good one (or stage 1's, or scratch) and says so in a line naming the file.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DamagedCheckpointError, readCheckpoint } from '../harness/train/checkpoint.ts';
import { loadOwnCheckpoint } from '../harness/train/trainer/resume-source.ts';
import { openStore } from '../harness/store/store.ts';
import type { RunRow } from '../harness/store/rows.ts';
import { REPO, runCliSync, waitFor, writeSpec } from './fixtures/harness-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'fault-ckpt-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const specs = join(dir, 'specs');
// Stage 2 long enough (about 200 steps of a smoke model) to be caught training; a checkpoint every 2 steps.
writeSpec(specs, 'ck', `{ description: 'checkpoint faults', axes: { model: ['gpt2'], method: ['inrank'] }, seeds: [1, 2],
  profiles: { tiny: { extends: 'smoke', base: { train: { maxSteps: 200, checkpointEvery: 2, evalEvery: 100 } } } } }`);

interface Sweep {
  exited: Promise<number | null>;
  output: () => string;
  interrupt: () => void;
}

/** `npm run sweep` with the real trainer, as a process of its own (node + tsx, so SIGINT reaches it). */
function sweep(name: string): Sweep {
  const args = ['ck', '--specs-dir', specs, '--profile', 'tiny', '--db', join(dir, `${name}.db`), '--out', join(dir, name), '--devices', 'cpu:2'];
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'harness', 'cli', 'sweep.ts'), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { exited, output: () => text, interrupt: () => child.kill('SIGINT') };
}

function runs(db: string): RunRow[] {
  const store = openStore(db);
  try {
    return store.listRuns();
  } finally {
    store.close();
  }
}

/** Both stage 2s have trained a few steps and written a periodic checkpoint of their own. */
function bothStage2Checkpointed(db: string, s: Sweep): () => boolean {
  return () => {
    if (existsSync(db) === false) return false;
    const store = openStore(db);
    try {
      const stage2 = store.listRuns().filter((r) => r.stage === 'stage2');
      if (stage2.some((r) => r.status === 'done')) throw new Error(`a stage 2 finished before the interrupt:\n${s.output()}`);
      return stage2.length === 2 && stage2.every((r) => r.status === 'running' && (r.steps ?? 0) >= 5 && store.artifacts(r.id).some((a) => a.kind === 'periodic'));
    } finally {
      store.close();
    }
  };
}

const byName = (rows: RunRow[], name: string): RunRow => rows.find((r) => r.name === name)!;
const fileOf = (row: RunRow, file: string) => join(row.run_dir, file);

function patch(path: string, at: number, bytes: Buffer): void {
  const buf = readFileSync(path);
  bytes.copy(buf, at);
  writeFileSync(path, buf);
}

function flipBytes(path: string, count: number): void {
  const buf = readFileSync(path);
  for (let i = 0; i < count; i++) {
    const at = 64 + Math.floor(((i + 0.5) / count) * (buf.length - 128));
    buf[at] = buf[at]! ^ 0xff;
  }
  writeFileSync(path, buf);
}

test('damaged checkpoints: never loaded, the runs restart from a good one and end as an uninterrupted sweep', async () => {
  const reference = sweep('ref');
  assert.equal(await reference.exited, 0, reference.output());
  const want = new Map(runs(join(dir, 'ref.db')).map((r) => [r.name, r.test_ppl]));
  assert.ok([...want].filter(([name]) => name.endsWith('stage2')).every(([, ppl]) => typeof ppl === 'number' && ppl > 1), 'the stage 2s measure a test perplexity');

  const db = join(dir, 'dmg.db');
  const first = sweep('dmg');
  await waitFor('both stage 2s training with a checkpoint of their own', bothStage2Checkpointed(db, first), 120_000);
  first.interrupt();
  assert.equal(await first.exited, 130, first.output());
  const stopped = runs(db);
  const [s1a, s2a, s1b, s2b] = ['s1-stage1', 's1-stage2', 's2-stage1', 's2-stage2'].map((n) => byName(stopped, `gpt2-inrank-fp32-${n}`)) as [RunRow, RunRow, RunRow, RunRow];
  assert.deepEqual([s2a.status, s2b.status], ['interrupted', 'interrupted'], first.output());
  for (const s2 of [s2a, s2b]) assert.ok(existsSync(fileOf(s2, 'prev.ckpt')), 'the checkpoint before the last one is kept');

  // Seed 1: random bytes in the middle of stage 2's last.ckpt, stage 1's hand-over deleted, a stale temp file.
  const size = readFileSync(fileOf(s2a, 'last.ckpt')).length;
  patch(fileOf(s2a, 'last.ckpt'), Math.floor(size / 2), Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 0xff)));
  rmSync(fileOf(s1a, 'pruned.ckpt'));
  writeFileSync(fileOf(s2a, 'last.ckpt.tmp-999999'), 'half a checkpoint');
  // Seed 2: stage 2's last.ckpt with a broken header, its prev.ckpt with 64 flipped bytes; stage
  // 1's hand-over truncated and its own last.ckpt zeroed (it restarts from scratch).
  patch(fileOf(s2b, 'last.ckpt'), 14, Buffer.from('}}}}garbage{{{{'));
  flipBytes(fileOf(s2b, 'prev.ckpt'), 64);
  truncateSync(fileOf(s1b, 'pruned.ckpt'), Math.floor(readFileSync(fileOf(s1b, 'pruned.ckpt')).length / 2));
  writeFileSync(fileOf(s1b, 'last.ckpt'), Buffer.alloc(readFileSync(fileOf(s1b, 'last.ckpt')).length));

  const second = sweep('dmg');
  assert.equal(await second.exited, 0, second.output());
  const out = second.output();
  const done = runs(db);
  for (const r of done) {
    assert.equal(r.status, 'done', `${r.name}: ${r.reason}\n${out}`);
    assert.equal(r.test_ppl, want.get(r.name), `${r.name}: the same test perplexity as the uninterrupted sweep`);
  }
  assert.doesNotMatch(out, /retrying|crashed/, 'a damaged checkpoint is not a crash to retry');
  // Seed 1: stage 2 resumed from its own prev.ckpt without its stage 1 (not run again).
  assert.match(out, new RegExp(`damaged checkpoint ${fileOf(s2a, 'last.ckpt')} \\(checksum mismatch.*restarting from ${fileOf(s2a, 'prev.ckpt')}`));
  assert.equal(byName(done, s1a.name).attempts, s1a.attempts, 'stage 1 is not rerun when its stage 2 has its own checkpoint');
  assert.ok(!existsSync(fileOf(s2a, 'last.ckpt.tmp-999999')), 'the stale temp file is removed');
  assert.ok(existsSync(fileOf(s2a, 'last.ckpt.damaged')), 'the damaged file is kept aside, not rotated into prev.ckpt');
  // Seed 2: the hand-over was damaged and the stage 2 had no good checkpoint: stage 1 ran again first.
  assert.match(out, new RegExp(`stage 2 ${s2b.name} needs the stage-1 checkpoint ${fileOf(s1b, 'pruned.ckpt')}, which is damaged.*runs again first`));
  assert.equal(byName(done, s1b.name).attempts, s1b.attempts + 1);
  assert.match(out, new RegExp(`damaged checkpoint ${fileOf(s1b, 'last.ckpt')} \\(not a trainer checkpoint \\(bad magic.*restarting from scratch`));
  assert.match(out, new RegExp(`damaged checkpoint ${fileOf(s2b, 'last.ckpt')} .*restarting from the stage-1 checkpoint`));
  assert.match(out, new RegExp(`damaged checkpoint ${fileOf(s2b, 'prev.ckpt')} \\(checksum mismatch`));
  assert.equal(byName(done, s2b.name).attempts, 2, 'one interrupted attempt, one that finished: no crash retries');
  // The line reaches the stored run: npm run show lists it.
  const show = runCliSync('show', [s2a.id, '--db', db]);
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /notices\n.*damaged checkpoint .*last\.ckpt.*restarting from .*prev\.ckpt \(step \d+\)/);
  assert.ok(readdirSync(s2a.run_dir).every((f) => !f.includes('.tmp-')));
});

/** A checkpoint as the trainer wrote them before checksums (format 1: no trailer). */
function formatOneCheckpoint(path: string, data: Float32Array): void {
  const header = Buffer.from(JSON.stringify({ format: 1, kind: 'periodic', state: { step: 4 }, tensors: [{ name: 'p:a', shape: [data.length], offset: 0, length: data.length }] }));
  const pad = (8 - ((12 + header.length) % 8)) % 8;
  const prefix = Buffer.alloc(12);
  prefix.write('INRANKCK', 0, 'latin1');
  prefix.writeUInt32LE(header.length + pad, 8);
  writeFileSync(path, Buffer.concat([prefix, header, Buffer.alloc(pad, 0x20), Buffer.from(data.buffer)]));
}

test('a checkpoint written before checksums is read without verification, with the structural checks', () => {
  const path = join(dir, 'old.ckpt');
  formatOneCheckpoint(path, new Float32Array([0.25, -1, 3]));
  const old = readCheckpoint(path);
  assert.equal(old.unverified, true);
  assert.deepEqual(Array.from(old.tensors.get('p:a')!.data), [0.25, -1, 3]);
  truncateSync(path, readFileSync(path).length - 4);
  assert.throws(() => readCheckpoint(path), (e: Error) => e instanceof DamagedCheckpointError && e.message.includes(path) && /truncated/.test(e.message));
  formatOneCheckpoint(path, new Float32Array([0.25, Number.POSITIVE_INFINITY, 3]));
  assert.throws(() => readCheckpoint(path), (e: Error) => e instanceof DamagedCheckpointError && /p:a holds a non-finite value \(Infinity\) at index 1/.test(e.message));
});

test('a folder under a checkpoint name is set aside as damaged, not a crash', () => {
  const out = join(dir, 'folder-ckpt');
  mkdirSync(join(out, 'last.ckpt'), { recursive: true });
  assert.throws(() => readCheckpoint(join(out, 'last.ckpt')), (e: unknown) => e instanceof DamagedCheckpointError && /not a regular file/.test(e.message));
  const lines: string[] = [];
  const chosen = loadOwnCheckpoint(out, { log: (l) => lines.push(l), emit: () => {} }, 'scratch');
  assert.equal(chosen, null);
  assert.ok(existsSync(join(out, 'last.ckpt.damaged')) && !existsSync(join(out, 'last.ckpt')), 'renamed aside, so the next save can write last.ckpt');
  assert.match(lines.join('\n'), /damaged checkpoint .*last\.ckpt \(not a regular file\); set aside as .*last\.ckpt\.damaged, restarting from scratch/);
});
