// One binary file per checkpoint: magic, a JSON header (training state, resolved config,
// tensor index), the raw little-endian float32 data of every tensor, and a SHA-256 trailer
// (harness/contract/checkpoint-file.ts checks it on every load). Written to a temp file and
// renamed, so a reader never sees a half-written checkpoint; the checkpoint it replaces is kept
// as the previous one (prev.ckpt beside last.ckpt), the fallback when the newer one is damaged.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RunConfig, ModelConfig } from '../contract/config.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_MAGIC, checkpointDigest, readCheckpointFile } from '../contract/checkpoint-file.ts';
import type { LossScalerState } from './precision/scaler.ts';

export { DamagedCheckpointError } from '../contract/checkpoint-file.ts';

export interface TrainingState {
  /** Optimizer steps taken (the LR schedule position: the next step uses multiplier(step)). */
  step: number;
  /** Data position: epoch and the index of the next window in that epoch's permutation. */
  epoch: number;
  position: number;
  /** AdamW's update count (skipped fp16 steps do not count). */
  optimizerT: number;
  scheduleSteps: number;
  scaler: LossScalerState;
  skippedSteps: number;
  trainMs: number;
  wallMs: number;
  bestValidLoss: number | null;
  /** Evaluations since the best one (early-stopping patience counter). */
  badEvals: number;
  lastTrainLoss: number | null;
  lastValidLoss: number | null;
}

export interface CheckpointHeader {
  format: number;
  kind: 'periodic' | 'interrupt' | 'final' | 'pruned';
  state: TrainingState;
  /** Stage 1's pruned checkpoint: MLP factors cut to the recorded ranks. */
  pruned: boolean;
  model: ModelConfig;
  /** Per-MLP-layer ranks (current modes) and their caps; null for a dense model. */
  ranks: Record<string, number> | null;
  maxRanks: Record<string, number> | null;
  /** Low-rank layers' counters (exact resume of the rank rule). */
  layerStates: Record<string, unknown>;
  params: { total: number; mlp: number };
  config: RunConfig;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
}

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** keepPrevious: where the checkpoint being replaced goes (renamed, not copied) before the new one takes its name. */
export function writeCheckpoint(path: string, header: Omit<CheckpointHeader, 'format' | 'tensors'>, tensors: NamedArray[], keepPrevious?: string): void {
  mkdirSync(dirname(path), { recursive: true });
  let offset = 0;
  const index = tensors.map((t) => {
    const entry = { name: t.name, shape: t.shape, offset, length: t.data.length };
    offset += t.data.length;
    return entry;
  });
  const json = Buffer.from(JSON.stringify({ ...header, format: CHECKPOINT_FORMAT, tensors: index }), 'utf8');
  const pad = (8 - ((CHECKPOINT_MAGIC.length + 4 + json.length) % 8)) % 8;
  const prefix = Buffer.alloc(CHECKPOINT_MAGIC.length + 4);
  prefix.write(CHECKPOINT_MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(json.length + pad, CHECKPOINT_MAGIC.length);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const digest = checkpointDigest();
  const put = (bytes: Uint8Array) => {
    digest.update(bytes);
    writeSync(fd, bytes);
  };
  try {
    put(prefix);
    put(Buffer.concat([json, Buffer.alloc(pad, 0x20)]));
    for (const t of tensors) put(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    writeSync(fd, digest.trailer());
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (keepPrevious && existsSync(path)) renameSync(path, keepPrevious);
  renameSync(tmp, path);
}

export interface LoadedCheckpoint {
  header: CheckpointHeader;
  tensors: Map<string, NamedArray>;
  /** Written before checkpoints carried checksums: read with the structural checks alone. */
  unverified: boolean;
}

/** Reads a checkpoint; a missing file is a UserError naming it, a damaged one a DamagedCheckpointError. */
export function readCheckpoint(path: string): LoadedCheckpoint {
  const file = readCheckpointFile(path);
  const header = file.header as unknown as CheckpointHeader;
  const tensors = new Map<string, NamedArray>();
  for (const t of header.tensors) tensors.set(t.name, { name: t.name, shape: t.shape, data: file.floats.subarray(t.offset, t.offset + t.length) });
  return { header, tensors, unverified: file.unverified };
}
