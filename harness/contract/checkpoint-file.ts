// The checkpoint file's integrity, shared by the trainer (which writes and loads checkpoints)
// and the harness (which checks a stage 1's hand-over before it schedules the stage 2).
//
// Layout (format 2): magic "INRANKCK", u32 header length, the JSON header padded to 8 bytes,
// the float32 tensor data, then a trailer: "INRKSUM1" and the SHA-256 of every byte before the
// trailer. Any damage (flipped bits, random bytes, truncation, zeroing, a broken header) fails
// the digest or the structure, and the reader throws DamagedCheckpointError naming the file.
// Format 1 (before checksums) has no trailer: it is read without verification, with the
// structural checks alone (exact length, parsable header, finite values).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { UserError } from './errors.ts';

export const CHECKPOINT_MAGIC = 'INRANKCK';
export const CHECKPOINT_FORMAT = 2;
const TRAILER_MAGIC = 'INRKSUM1';
const DIGEST_BYTES = 32;
export const TRAILER_BYTES = TRAILER_MAGIC.length + DIGEST_BYTES;
const PREFIX_BYTES = CHECKPOINT_MAGIC.length + 4;

/** A checkpoint that cannot be trusted: never loaded. A UserError so that, uncaught, it is one line naming the file (never a crash that is retried). */
export class DamagedCheckpointError extends UserError {
  override name = 'DamagedCheckpointError';
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`damaged checkpoint ${path}: ${why}`);
  }
}

/** The running digest of a checkpoint being written; trailer() is appended after the last byte. */
export function checkpointDigest(): { update(bytes: Uint8Array): void; trailer(): Buffer } {
  const hash = createHash('sha256');
  return {
    update: (bytes) => void hash.update(bytes),
    trailer: () => Buffer.concat([Buffer.from(TRAILER_MAGIC, 'latin1'), hash.digest()]),
  };
}

export interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export interface CheckpointFile {
  /** The parsed JSON header (the trainer types it). */
  header: { format: number; tensors: TensorEntry[] } & Record<string, unknown>;
  floats: Float32Array;
  /** Format 1: read without a checksum (written before checkpoints carried one). */
  unverified: boolean;
}

/** Reads and verifies a checkpoint: a missing file is a UserError, any damage a DamagedCheckpointError. */
export function readCheckpointFile(path: string): CheckpointFile {
  if (!existsSync(path)) throw new UserError(`checkpoint ${path} does not exist`);
  const damaged = (why: string) => new DamagedCheckpointError(path, why);
  // A folder (or a device) under a checkpoint's name is no checkpoint: set aside like a damaged one, not a crash.
  if (!statSync(path).isFile()) throw damaged('not a regular file');
  const buf = readFileSync(path);
  if (buf.length < PREFIX_BYTES || buf.toString('latin1', 0, CHECKPOINT_MAGIC.length) !== CHECKPOINT_MAGIC) {
    throw damaged('not a trainer checkpoint (bad magic: zeroed, overwritten or another file)');
  }
  const sealed = hasTrailer(buf);
  if (sealed && !digestMatches(buf)) throw damaged('checksum mismatch (its bytes changed after it was written)');
  const end = sealed ? buf.length - TRAILER_BYTES : buf.length;
  const headerLen = buf.readUInt32LE(CHECKPOINT_MAGIC.length);
  if (PREFIX_BYTES + headerLen > end) throw damaged(`header length ${headerLen} runs past the end of the file (truncated?)`);
  const header = parseHeader(buf, headerLen, damaged);
  if (sealed && header.format !== CHECKPOINT_FORMAT) throw damaged(`format ${header.format} with a checksum; this trainer reads ${CHECKPOINT_FORMAT}`);
  if (!sealed && header.format === CHECKPOINT_FORMAT) throw damaged('its checksum trailer is missing (truncated, or bytes written past its end)');
  if (!sealed && header.format !== 1) throw damaged(`unknown checkpoint format ${String(header.format)}`);
  const floats = tensorData(buf, PREFIX_BYTES + headerLen, end, header.tensors, damaged);
  return { header, floats, unverified: !sealed };
}

function hasTrailer(buf: Buffer): boolean {
  return buf.length >= PREFIX_BYTES + TRAILER_BYTES && buf.toString('latin1', buf.length - TRAILER_BYTES, buf.length - DIGEST_BYTES) === TRAILER_MAGIC;
}

function digestMatches(buf: Buffer): boolean {
  const body = buf.subarray(0, buf.length - TRAILER_BYTES);
  const want = buf.subarray(buf.length - DIGEST_BYTES);
  return createHash('sha256').update(body).digest().equals(want);
}

function parseHeader(buf: Buffer, headerLen: number, damaged: (why: string) => Error): CheckpointFile['header'] {
  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + headerLen));
  } catch (err) {
    throw damaged(`its header is not readable JSON (${(err as Error).message})`);
  }
  const h = header as Partial<CheckpointFile['header']> | null;
  if (typeof h !== 'object' || h === null || typeof h.format !== 'number' || !Array.isArray(h.tensors)) throw damaged('its header lacks the format or the tensor index');
  return h as CheckpointFile['header'];
}

/**
 * The float data, copied to an aligned buffer (Float32Array needs 4-byte alignment). The tensor
 * index must cover it exactly, and every value must be finite: training never stores a NaN or
 * an infinity (a non-finite loss ends the run as diverged before any checkpoint).
 */
function tensorData(buf: Buffer, start: number, end: number, tensors: TensorEntry[], damaged: (why: string) => Error): Float32Array {
  const total = tensors.reduce((n, t) => n + t.length, 0);
  if ((end - start) !== total * 4) throw damaged(`its tensors need ${total * 4} bytes of data, the file has ${end - start} (truncated?)`);
  const floats = new Float32Array(new Uint8Array(buf.subarray(start, end)).buffer);
  for (const t of tensors) {
    if (t.offset < 0 || t.offset + t.length > floats.length) throw damaged(`tensor ${t.name} lies outside the data`);
  }
  const bad = firstNonFinite(floats);
  if (bad >= 0) {
    const t = tensors.find((e) => bad >= e.offset && bad < e.offset + e.length);
    throw damaged(`tensor ${t?.name ?? '?'} holds a non-finite value (${floats[bad]}) at index ${bad - (t?.offset ?? 0)}`);
  }
  return floats;
}

/** Index of the first NaN or infinity (all exponent bits set), or -1: one pass over the raw bits. */
function firstNonFinite(floats: Float32Array): number {
  const bits = new Uint32Array(floats.buffer, floats.byteOffset, floats.length);
  for (let i = 0; i < bits.length; i++) if ((bits[i]! & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

/** Why a checkpoint cannot be used (missing, or damaged with the reason), or null when it verifies. */
export function checkpointProblem(path: string): string | null {
  if (!existsSync(path)) return 'is missing';
  try {
    readCheckpointFile(path);
    return null;
  } catch (err) {
    if (err instanceof DamagedCheckpointError) return `is damaged (${err.why})`;
    throw err;
  }
}
