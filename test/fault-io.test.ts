// A harness that survives its own I/O faults (issue 19, item 2), on the real CLI and trainer:
// --out on a read-only or a full filesystem, --db on a full one (small tmpfs mounts, so root
// only). Each time: exit 1 with one `error:` line naming the path and what to do (no stack),
// the sweep not stored 'done', no run left 'running' where the store could still be written,
// no empty config.json; and a rerun on a healthy disk finishes every run with each metric row
// once, equal to a sweep that never met the fault.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeSpec } from './fixtures/harness-cli.ts';
import { duplicateMetrics, eventRows, isRoot, mountTmpfs, readDb, remount, runRealSweep, unmount } from './fixtures/real-sweep.ts';

const dir = mkdtempSync(join(tmpdir(), 'fault-io-'));
const mounts: string[] = [];
after(() => {
  for (const m of mounts) unmount(m);
  rmSync(dir, { recursive: true, force: true });
});

/** Why the mount-based cases cannot run here, or null when they can. */
function cannotMount(): string | null {
  if (!isRoot()) return 'needs root to mount a small tmpfs (CI runs as root)';
  try {
    mount(join(dir, 'probe'), '64k');
    return null;
  } catch (err) {
    return `cannot mount a tmpfs here: ${(err as Error).message.split('\n')[0]}`;
  }
}

function mount(at: string, size: string): void {
  mountTmpfs(at, size);
  mounts.push(at);
}

const skip = cannotMount();
const specs = join(dir, 'specs');
writeSpec(specs, 'two', `{ description: 'two tiny runs', axes: { model: ['gpt2'], method: ['full'] }, seeds: [1, 2] }`);
const sweepArgs = (db: string, out: string, ...more: string[]): string[] => ['two', '--specs-dir', specs, '--profile', 'smoke', '--db', db, '--out', out, '--devices', 'cpu:2', ...more];

/** The contract of a fault: exit 1, one error line naming the path and the flag, no stack. */
function assertOneLine(r: { code: number; output: string }, says: RegExp): void {
  assert.equal(r.code, 1, r.output);
  const errors = r.output.split('\n').filter((l) => l.startsWith('error: '));
  assert.equal(errors.length, 1, r.output);
  assert.match(errors[0]!, says);
  assert.doesNotMatch(r.output, /^\s+at /m, 'no stack trace');
}

const statuses = (db: string): { sweeps: string[]; runs: string[] } =>
  readDb(db, (d) => ({
    sweeps: (d.prepare(`SELECT status FROM sweeps ORDER BY id`).all() as { status: string }[]).map((r) => r.status),
    runs: (d.prepare(`SELECT status FROM runs ORDER BY name`).all() as { status: string }[]).map((r) => r.status),
  }));

/** The healthy rerun: every run done, each metric row once and equal to the reference's. */
async function assertRecovers(db: string, out: string, reference: ReturnType<typeof eventRows>, ...more: string[]): Promise<void> {
  const r = await runRealSweep(sweepArgs(db, out, ...more));
  assert.equal(r.code, 0, r.output);
  assert.deepEqual(statuses(db).runs, ['done', 'done']);
  assert.deepEqual(duplicateMetrics(db), []);
  const got = eventRows(db);
  assert.deepEqual(got.metrics, reference.metrics, 'the rows equal those of a sweep that met no fault');
  assert.deepEqual(got.statuses, reference.statuses);
}

test('--out on a read-only filesystem: one line, exit 1, the run failed with the reason, the sweep failed', { skip: skip ?? false }, async () => {
  const ro = join(dir, 'ro');
  mount(ro, '4m');
  remount(ro, 'ro');
  const db = join(dir, 'ro.db');
  const r = await runRealSweep(sweepArgs(db, join(ro, 'runs')));
  assertOneLine(r, /^error: read-only filesystem at `.*\/ro\/runs\/?[^`]*`: remount it writable or choose another --out$/);
  const s = statuses(db);
  assert.deepEqual(s.sweeps, ['failed'], 'the sweep is not stored done');
  assert.ok(!s.runs.includes('running') && s.runs.includes('failed'), `no run left running: ${s.runs}`);
});

test('--out on a full disk, then --db on a full disk: one line each, and a rerun on a healthy disk recovers every run exactly', { skip: skip ?? false }, async () => {
  const reference = await runRealSweep(sweepArgs(join(dir, 'ref.db'), join(dir, 'ref'), 'train.maxSteps=30'));
  assert.equal(reference.code, 0, reference.output);
  const expected = eventRows(join(dir, 'ref.db'));

  // A full --out: the first checkpoints (about 0.6 MB each) no longer fit.
  const full = join(dir, 'full');
  mount(full, '700k');
  const db = join(dir, 'out-full.db');
  const r = await runRealSweep(sweepArgs(db, join(full, 'runs'), 'train.maxSteps=30'));
  assertOneLine(r, /^error: disk full writing `.*\/full\/runs\/[^`]*`: free space or choose another --out$/);
  const s = statuses(db);
  assert.deepEqual(s.sweeps, ['failed']);
  assert.ok(!s.runs.includes('running'), `no run left running: ${s.runs}`);
  for (const run of readdirSync(join(full, 'runs'))) {
    const config = join(full, 'runs', run, 'config.json');
    if (existsSync(config)) assert.doesNotThrow(() => JSON.parse(readFileSync(config, 'utf8')), `${config} is whole`);
  }
  remount(full, 'size=20m');
  await assertRecovers(db, join(full, 'runs'), expected, 'train.maxSteps=30');

  // A full --db: its disk fills a few steps into training; the store cannot record the
  // failure, but the harness exits with one line and the next sweep recovers the runs.
  const dbDisk = join(dir, 'dbdisk');
  mount(dbDisk, '260k');
  const fullDb = join(dbDisk, 'r.db');
  const d = await runRealSweep(sweepArgs(fullDb, join(dir, 'db-full-runs'), 'train.maxSteps=30'));
  assertOneLine(d, /^error: disk full writing `.*\/dbdisk\/r\.db`: free space or choose another --db$/);
  assert.notDeepEqual(statuses(fullDb).sweeps, ['done']);
  remount(dbDisk, 'size=20m');
  await assertRecovers(fullDb, join(dir, 'db-full-runs'), expected, 'train.maxSteps=30');
});
