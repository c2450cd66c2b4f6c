// Which GPU a WebGPU child uses. Dawn (the `webgpu` package) asks the Vulkan loader for its
// adapters and takes the first one; its only selection flag (`adapter=`) matches the device
// name, which is the same on every GPU of a machine with eight alike. So a child is pinned one
// level down, by the Vulkan driver's own device selection: Mesa's device-select layer (an
// implicit Vulkan layer shipped in Debian/Ubuntu's mesa-vulkan-drivers, which works for any
// vendor's driver, NVIDIA's included) reads
//   DRI_PRIME=pci-DDDD_BB_SS_F                  the PCI address of the GPU to put first, and
//   MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1 to hide every other GPU from the child.
// CUDA_VISIBLE_DEVICES (set beside it) pins tfjs-node-gpu; the Vulkan driver ignores it.
// Without the layer installed the variables do nothing and every child gets the first GPU:
// deviceSelectLayerPresent() lets the sweep say so.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** nvidia-smi's 00000000:01:00.0 as the layer's pci-0000_01_00_0 (domain, bus, slot, function). */
export function driPrimeOf(pciBusId: string): string | null {
  const m = /^(?:([0-9a-fA-F]{4,8}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/.exec(pciBusId.trim());
  if (!m) return null;
  const domain = (m[1] ?? '0000').slice(-4).toLowerCase();
  return `pci-${domain}_${m[2]!.toLowerCase()}_${m[3]!.toLowerCase()}_${m[4]}`;
}

/** The environment that pins a child's Vulkan (hence WebGPU) device to this GPU. */
export function pinningEnv(pciBusId: string | undefined): Record<string, string> {
  const prime = pciBusId ? driPrimeOf(pciBusId) : null;
  return prime ? { DRI_PRIME: prime, MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1' } : {};
}

const LAYER_DIRS = ['/usr/share/vulkan/implicit_layer.d', '/etc/vulkan/implicit_layer.d', '/usr/local/share/vulkan/implicit_layer.d'];

/** Whether Mesa's device-select layer is installed (the manifest in a Vulkan implicit-layer folder). */
export function deviceSelectLayerPresent(dirs: readonly string[] = LAYER_DIRS): boolean {
  return dirs.some((d) => {
    try {
      return existsSync(d) && readdirSync(d).some((f) => /device_select/i.test(f) && f.endsWith('.json') && existsSync(join(d, f)));
    } catch {
      return false;
    }
  });
}
