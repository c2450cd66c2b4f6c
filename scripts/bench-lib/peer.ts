// The PyTorch peer of `npm run bench -- --peer`: runs scripts/bench-peer.py on the same shape and
// thread count, when a Python with torch is at hand, and prints the trainer's tokens/s against it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Which Python runs the peer (default `python3` on PATH). */
export const PEER_PYTHON_ENV = 'INRANK_PEER_PYTHON';

export interface PeerShape {
  nEmbd: number;
  nLayer: number;
  nHead: number;
  context: number;
  batch: number;
  vocab: number;
}

export interface PeerResult {
  torch: string;
  device: string;
  dtype: string;
  threads: number;
  params: number;
  stepMs: number;
  tokensPerS: number;
}

function python(): string {
  return process.env[PEER_PYTHON_ENV] || 'python3';
}

/** Null when `python -c 'import torch'` works, else why not (one line). */
export function peerUnavailable(): string | null {
  const r = spawnSync(python(), ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error) return `${python()} not found (${r.error.message}); set ${PEER_PYTHON_ENV} to a Python with torch`;
  if (r.status !== 0) return `${python()} cannot import torch; install PyTorch or set ${PEER_PYTHON_ENV} to a Python that has it`;
  return null;
}

/** Runs the peer once (its own best of `repeats`); throws with its stderr when it fails. */
export function runPeer(shape: PeerShape, threads: number, opts: { steps: number; repeats: number; device?: 'cpu' | 'cuda'; fp16?: boolean }): PeerResult {
  const script = fileURLToPath(new URL('../bench-peer.py', import.meta.url));
  const args = [script, '--n-embd', shape.nEmbd, '--n-layer', shape.nLayer, '--n-head', shape.nHead, '--context', shape.context,
    '--batch', shape.batch, '--vocab', shape.vocab, '--threads', threads, '--steps', opts.steps, '--repeats', opts.repeats,
    '--device', opts.device ?? 'cpu', '--dtype', opts.fp16 ? 'fp16' : 'fp32'].map(String);
  const r = spawnSync(python(), args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench-peer.py failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as PeerResult;
}

/** The trainer against the peer, both measured in this run. */
export function printPeerComparison(ours: { label: string; tokensPerS: number; params: number }, peer: PeerResult): void {
  console.log('');
  console.log(`PyTorch peer in this run: torch ${peer.torch} on ${peer.device}, ${peer.dtype}, ${peer.threads} thread(s), ${peer.params} params (ours ${ours.params})`);
  console.log(`  ${'tokens/s'.padEnd(10)} ${ours.label.padStart(12)} ${'pytorch'.padStart(10)} ${'ratio'.padStart(8)}`);
  console.log(`  ${''.padEnd(10)} ${ours.tokensPerS.toFixed(0).padStart(12)} ${peer.tokensPerS.toFixed(0).padStart(10)} ${`${(ours.tokensPerS / peer.tokensPerS).toFixed(2)}x`.padStart(8)}`);
  console.log(`  target on the CPU: >= 1.0x PyTorch at the same thread count; ${ours.tokensPerS >= peer.tokensPerS ? 'met' : 'not met'} on this run`);
}
