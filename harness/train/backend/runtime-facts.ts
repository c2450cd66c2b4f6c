// What this trainer process runs on, for the start event (issue 18, provenance): the versions of
// the tfjs packages it loaded, its backend and matmul path, Node, the OS, the CPU, and the
// NVIDIA driver where there is one. Cheap: a few package.json reads once per run.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, hostname, release, type } from 'node:os';
import { CODE_FACTS_ENV, type CodeFacts, type RuntimeFacts } from '../../contract/provenance.ts';
import type { SelectedBackend } from './select.ts';
import { loadBlasAddon, loadedAddon } from './native-addon.ts';

/** The npm package each backend runs on (besides tfjs-core). */
const BACKEND_PACKAGES: Record<string, string[]> = {
  cpu: ['@tensorflow/tfjs-backend-cpu'],
  wasm: ['@tensorflow/tfjs-backend-wasm'],
  webgpu: ['@tensorflow/tfjs-backend-webgpu', 'webgpu'],
  tensorflow: ['@tensorflow/tfjs-node'],
  'tensorflow-gpu': ['@tensorflow/tfjs-node-gpu'],
};

/** The installed version of a package, or null when it cannot be read. */
function packageVersion(name: string): string | null {
  try {
    const require = createRequire(import.meta.url);
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** The driver version line of /proc/driver/nvidia/version, where there is one. */
function nvidiaDriver(): string | null {
  const file = '/proc/driver/nvidia/version';
  try {
    return existsSync(file) ? (readFileSync(file, 'utf8').split('\n')[0]?.trim() ?? null) : null;
  } catch {
    return null;
  }
}

/** The OpenBLAS library the addon opened, and its thread count. */
function openBlasLine(): string {
  const state = loadBlasAddon();
  try {
    return `${state.reason}, ${loadedAddon().getThreads()} thread(s)`;
  } catch {
    return state.reason;
  }
}

export function runtimeFacts(selected: Pick<SelectedBackend, 'backend' | 'matmul'>): RuntimeFacts {
  const packages: Record<string, string> = {};
  for (const name of ['@tensorflow/tfjs-core', ...(BACKEND_PACKAGES[selected.backend] ?? [])]) {
    const v = packageVersion(name);
    if (v) packages[name] = v;
  }
  const cores = cpus();
  // The addon is already loaded (and cached) when OpenBLAS serves the matmuls: this reads its state.
  const native = selected.matmul === 'openblas' ? openBlasLine() : null;
  return {
    node: process.version,
    os: `${type()} ${release()} ${arch()}`,
    cpu: cores[0]?.model.trim() ?? 'unknown',
    cpus: cores.length,
    host: hostname(),
    packages,
    backend: selected.backend,
    matmul: selected.matmul,
    native,
    gpuDriver: nvidiaDriver(),
  };
}

/** The code facts the harness handed this trainer (CODE_FACTS_ENV); null when run on its own. */
export function launchCodeFacts(): CodeFacts | null {
  const text = process.env[CODE_FACTS_ENV];
  if (!text) return null;
  try {
    const v = JSON.parse(text) as Partial<CodeFacts>;
    return typeof v.commit === 'string' ? (v as CodeFacts) : null;
  } catch {
    return null;
  }
}
