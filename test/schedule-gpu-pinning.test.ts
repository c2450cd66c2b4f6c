// Pinning each run to its own GPU: the slot's environment names the GPU's PCI address for
// Mesa's Vulkan device-select layer (WebGPU) beside CUDA_VISIBLE_DEVICES (CUDA), and
// --runs-per-device shares a GPU between several slots.
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { planSlots } from '../harness/schedule/devices.ts';
import { deviceSelectLayerPresent, driPrimeOf, pinningEnv } from '../harness/schedule/gpu-pinning.ts';
import { UserError } from '../harness/contract/errors.ts';
import { openExecutor, takeExecutorFlags } from '../harness/schedule/executors.ts';

const gpus = {
  gpus: [
    { index: 0, name: 'NVIDIA H200', pciBusId: '00000000:19:00.0' },
    { index: 1, name: 'NVIDIA H200', pciBusId: '00000001:3B:00.1' },
  ],
  cores: 16,
};

test("nvidia-smi's PCI bus id becomes the device-select layer's DRI_PRIME", () => {
  assert.equal(driPrimeOf('00000000:19:00.0'), 'pci-0000_19_00_0');
  assert.equal(driPrimeOf('00000001:3B:00.1'), 'pci-0001_3b_00_1');
  assert.equal(driPrimeOf('0000:01:00.0'), 'pci-0000_01_00_0');
  assert.equal(driPrimeOf('not a bus id'), null);
  assert.deepEqual(pinningEnv(undefined), {});
});

test('each GPU slot pins CUDA and Vulkan to its own GPU', () => {
  const slots = planSlots(undefined, gpus);
  assert.deepEqual(
    slots.map((s) => [s.name, s.env.CUDA_VISIBLE_DEVICES, s.env.DRI_PRIME, s.env.MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE]),
    [['cuda:0', '0', 'pci-0000_19_00_0', '1'], ['cuda:1', '1', 'pci-0001_3b_00_1', '1']],
  );
  assert.deepEqual(planSlots('1', gpus).map((s) => s.env.DRI_PRIME), ['pci-0000_19_00_0']);
  assert.equal(planSlots('cpu:2', gpus)[0]!.env.DRI_PRIME, undefined);
});

test('--runs-per-device N: N slots on each GPU, the cores shared by all', () => {
  const slots = planSlots(undefined, gpus, 3);
  assert.deepEqual(slots.map((s) => s.name), ['cuda:0#1', 'cuda:0#2', 'cuda:0#3', 'cuda:1#1', 'cuda:1#2', 'cuda:1#3']);
  assert.ok(slots.slice(0, 3).every((s) => s.env.DRI_PRIME === 'pci-0000_19_00_0' && s.env.CUDA_VISIBLE_DEVICES === '0'));
  assert.ok(slots.every((s) => s.env.OMP_NUM_THREADS === '2'));
  assert.throws(() => planSlots(undefined, { gpus: [], cores: 4 }, 2), (e: unknown) => e instanceof UserError && /shares a GPU/.test(e.message));
});

test('the local executor plugin gives the sweep these pinned, shared slots', () => {
  const none = takeExecutorFlags([]);
  const settings = { block: {}, retries: 0, detach: false, trainer: 'trainer.ts', customTrainer: false, devices: '1', runsPerDevice: 2, deviceEnv: gpus, maxParallel: undefined };
  const local = openExecutor('local', none, settings);
  assert.equal(local.onThisMachine, true);
  assert.deepEqual(
    local.slots(10).map((s) => [s.name, s.env.CUDA_VISIBLE_DEVICES, s.env.DRI_PRIME]),
    [['cuda:0#1', '0', 'pci-0000_19_00_0'], ['cuda:0#2', '0', 'pci-0000_19_00_0']],
  );
  assert.match(local.describe(local.slots(10)), /^devices: cuda:0#1, cuda:0#2 /);
});

test('the device-select layer is found by its manifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vk-layers-'));
  assert.equal(deviceSelectLayerPresent([dir]), false);
  writeFileSync(join(dir, 'VkLayer_MESA_device_select.json'), '{}');
  assert.equal(deviceSelectLayerPresent([dir]), true);
});
