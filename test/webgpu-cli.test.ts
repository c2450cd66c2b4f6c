// `npm run sweep demo -- --profile smoke --backend webgpu` through the real CLI, trainers and
// all: both stages train on WebGPU and the database keeps the backend and the adapter. In CI
// on Mesa's software Vulkan driver; skipped, saying why, only where no WebGPU adapter exists.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { AdapterDescription } from '../harness/contract/protocol.ts';
import { openStore } from '../harness/store/store.ts';
import { probeWebgpu } from '../harness/schedule/webgpu-probe.ts';
import { REPO } from './fixtures/harness-cli.ts';

const probe = await probeWebgpu();
const skip = probe.ok ? false : `no WebGPU adapter here: ${probe.reason}`;
const dir = mkdtempSync(join(tmpdir(), 'webgpu-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('npm run sweep demo -- --profile smoke --backend webgpu trains both stages on WebGPU and stores the adapter', { skip }, () => {
  const db = join(dir, 'r.db');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'harness', 'cli', 'sweep.ts'), 'demo', '--profile', 'smoke', '--backend', 'webgpu', '--db', db, '--out', join(dir, 'runs')],
    { cwd: REPO, encoding: 'utf8', timeout: 240_000 },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /WebGPU adapter: /, 'the sweep names the adapter in its first lines');
  assert.match(r.stdout, /2 done/);
  const store = openStore(db);
  try {
    const runs = store.listRuns();
    assert.equal(runs.length, 2);
    for (const run of runs) {
      assert.equal(run.status, 'done');
      assert.equal(run.backend, 'webgpu');
      assert.equal(run.matmul, 'webgpu');
      const adapter = JSON.parse(run.adapter!) as AdapterDescription;
      assert.ok(probe.ok);
      assert.equal(adapter.vendor, probe.adapter.vendor);
      assert.equal(adapter.description, probe.adapter.description);
      assert.ok(Array.isArray(adapter.features));
      assert.ok(run.test_ppl === null || Number.isFinite(run.test_ppl));
    }
  } finally {
    store.close();
  }
  const show = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'harness', 'cli', 'show.ts'), 'gpt2-inrank-fp32-s1113-stage2', '--db', db], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /backend +webgpu on \S+ /);
});
