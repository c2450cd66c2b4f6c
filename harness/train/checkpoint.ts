// One binary file per checkpoint: magic, a JSON header (training state, resolved config,
// tensor index), then the raw little-endian float32 data of every tensor. Written to a temp
// file and renamed, so a reader never sees a half-written checkpoint.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RunConfig, ModelConfig } from '../contract/config.ts';
import { UserError } from '../contract/errors.ts';
import type { LossScalerState } from './precision/scaler.ts';

const MAGIC = 'INRANKCK';
const FORMAT = 1;

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

export function writeCheckpoint(path: string, header: Omit<CheckpointHeader, 'format' | 'tensors'>, tensors: NamedArray[]): void {
  mkdirSync(dirname(path), { recursive: true });
  let offset = 0;
  const index = tensors.map((t) => {
    const entry = { name: t.name, shape: t.shape, offset, length: t.data.length };
    offset += t.data.length;
    return entry;
  });
  const json = Buffer.from(JSON.stringify({ ...header, format: FORMAT, tensors: index }), 'utf8');
  const pad = (8 - ((MAGIC.length + 4 + json.length) % 8)) % 8;
  const prefix = Buffer.alloc(MAGIC.length + 4);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(json.length + pad, MAGIC.length);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, Buffer.concat([json, Buffer.alloc(pad, 0x20)]));
    for (const t of tensors) writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export interface LoadedCheckpoint {
  header: CheckpointHeader;
  tensors: Map<string, NamedArray>;
}

/** Reads a checkpoint; a missing or foreign file is a UserError naming it. */
export function readCheckpoint(path: string): LoadedCheckpoint {
  if (!existsSync(path)) throw new UserError(`checkpoint ${path} does not exist`);
  const buf = readFileSync(path);
  if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw new UserError(`${path} is not a trainer checkpoint (bad magic)`);
  }
  const headerLen = buf.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  const header = JSON.parse(buf.toString('utf8', start, start + headerLen)) as CheckpointHeader;
  if (header.format !== FORMAT) throw new UserError(`${path}: checkpoint format ${header.format}, this trainer reads ${FORMAT}`);
  const dataStart = start + headerLen;
  // copy into an aligned buffer: Float32Array views need 4-byte alignment
  const floats = new Float32Array(new Uint8Array(buf.subarray(dataStart)).buffer);
  const tensors = new Map<string, NamedArray>();
  for (const t of header.tensors) {
    if (t.offset + t.length > floats.length) throw new UserError(`${path} is truncated (tensor ${t.name})`);
    tensors.set(t.name, { name: t.name, shape: t.shape, data: floats.subarray(t.offset, t.offset + t.length) });
  }
  return { header, tensors };
}
