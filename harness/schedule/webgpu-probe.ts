// Whether Dawn finds a WebGPU adapter here, and which: asked of a short child process
// (harness/train/backend/probe-main.ts), so the harness never loads Dawn itself and a driver
// that hangs or crashes costs a timeout, not the sweep.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterDescription } from '../contract/protocol.ts';
import { REPO_ROOT } from './repo-root.ts';

export type WebgpuProbe = { ok: true; adapter: AdapterDescription } | { ok: false; reason: string };

const PROBE = join(REPO_ROOT, 'harness', 'train', 'backend', 'probe-main.ts');

/** Runs the probe with extra environment (a slot's pinning); at most timeoutMs. */
export function probeWebgpu(env: Record<string, string> = {}, timeoutMs = 60_000): Promise<WebgpuProbe> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', PROBE], { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout) => {
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        try {
          resolve(JSON.parse(line) as WebgpuProbe);
          return;
        } catch {
          // fall through to the error below
        }
      }
      resolve({ ok: false, reason: `the WebGPU probe gave no answer (${err ? err.message.split('\n')[0] : 'no output'})` });
    });
  });
}

/**
 * Whether a hardware GPU could be behind WebGPU here: an NVIDIA GPU, or a DRM render node (AMD,
 * Intel). Without either, the probe is skipped: it could only find a software driver, which
 * `auto` never uses, and it costs a second or two of every sweep's start.
 */
export function mayHaveGpu(nvidiaGpus: number): boolean {
  if (nvidiaGpus > 0) return true;
  try {
    return existsSync('/dev/dri') && readdirSync('/dev/dri').some((n) => n.startsWith('renderD'));
  } catch {
    return false;
  }
}
