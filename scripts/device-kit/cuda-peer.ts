// The PyTorch peer on CUDA for figures.ts: bench-lib/peer.ts runs scripts/bench-peer.py beside
// the script; in the device kit the bundle sits elsewhere, so the kit names the script's path
// (INRANK_PEER_SCRIPT) and this module runs it the same way, on cuda.
import { spawnSync } from 'node:child_process';
import { PEER_PYTHON_ENV, type PeerResult, type PeerShape } from '../bench-lib/peer.ts';

const python = () => process.env[PEER_PYTHON_ENV] || 'python3';
const script = () => process.env.INRANK_PEER_SCRIPT || 'scripts/bench-peer.py';

/** Null when the Python has torch and torch sees a CUDA device; else why not (one line). */
export function cudaPeerUnavailable(): string | null {
  const r = spawnSync(python(), ['-c', 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)'], { encoding: 'utf8' });
  if (r.error) return `${python()} not found; set ${PEER_PYTHON_ENV} to a Python with torch`;
  if (r.status === 3) return `torch in ${python()} sees no CUDA device`;
  if (r.status !== 0) return `${python()} cannot import torch`;
  return null;
}

/** One peer process: best of 2 repeats of `steps` steps, fp32 with TF32 off or fp16 autocast. */
export function runCudaPeer(shape: PeerShape, fp16: boolean, steps: number): PeerResult {
  const args = [script(), '--n-embd', shape.nEmbd, '--n-layer', shape.nLayer, '--n-head', shape.nHead, '--context', shape.context,
    '--batch', shape.batch, '--vocab', shape.vocab, '--threads', 1, '--steps', steps, '--repeats', 2,
    '--device', 'cuda', '--dtype', fp16 ? 'fp16' : 'fp32'].map(String);
  const r = spawnSync(python(), args, { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`bench-peer.py failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as PeerResult;
}
