// `npm run bench -- --backend webgpu --profile` on the tiny shape, in process: one real training
// step profiled kernel by kernel. The kernels have names, non-negative times and dispatch counts
// that add up to the step's total, which equals the unprofiled steps' count; the timing source
// is GPU timestamps exactly when the adapter offers 'timestamp-query'. Skipped where Dawn finds
// no adapter (lavapipe is enough).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureDevice } from '../scripts/bench-device.ts';
import { formatGpuProfile } from '../scripts/bench-lib/gpu-profile.ts';
import { probeAdapter } from '../harness/train/backend/webgpu.ts';
import { FusedKernel } from '../harness/train/ops/fused.ts';

test('the webgpu profile of a tiny step names kernels with non-negative times and dispatch counts', async (t) => {
  const probe = await probeAdapter();
  if ('reason' in probe) return t.skip(`no WebGPU: ${probe.reason}`);
  const result = await measureDevice('webgpu', 'tiny', 1, true);
  const p = result.profile!;
  assert.ok(p, 'no profile');
  assert.equal(p.timing, probe.adapter.features.has('timestamp-query') ? 'timestamps' : 'wall-clock');
  assert.ok(p.kernels.length > 5, `too few kernels: ${p.kernels.map((k) => k.name).join(', ')}`);
  for (const k of p.kernels) {
    assert.ok(k.name.length > 0 && k.calls > 0 && k.dispatches >= 0 && k.ms >= 0, JSON.stringify(k));
  }
  const names = new Set(p.kernels.map((k) => k.name));
  assert.ok(names.has('BatchMatMul') && names.has(FusedKernel.layerNorm), [...names].join(', '));
  assert.equal(p.kernels.reduce((s, k) => s + k.dispatches, 0), p.dispatches, 'per-kernel dispatches add up to the step');
  assert.equal(p.dispatches, result.dispatches, 'the profiled step dispatches as many as the timed ones');
  if (p.timing === 'timestamps') assert.ok(p.kernels.some((k) => k.ms > 0), 'timestamps gave no time at all');
  const lines = formatGpuProfile(p);
  assert.match(lines[0]!, new RegExp(`^profile of one step: ${p.dispatches} dispatches`));
  assert.match(lines[1]!, p.timing === 'timestamps' ? /GPU timestamp queries/ : /wall-clock/);
});

test('without timestamps the profile prints counts and says the kernel times were not measured', () => {
  const lines = formatGpuProfile({ timing: 'wall-clock', wallMs: 12, dispatches: 5, kernels: [{ name: 'BatchMatMul', calls: 2, dispatches: 5, ms: 0 }] });
  assert.match(lines[1]!, /wall-clock of the whole step only/);
  assert.match(lines[3]!, /^ {2}BatchMatMul +2 +5 +- +-$/);
});
