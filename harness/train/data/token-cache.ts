// Token ids on disk, one file per corpus split, named by a key that hashes the text's bytes,
// the tokenizer and this file format. Size + mtime would miss an edited file of the same size
// (and a copied file changes mtime without changing content), so the key hashes the content.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TokenIds } from './token-buffer.ts';

/** Bump when the bytes written, or the way text becomes ids, change. */
export const TOKEN_CACHE_FORMAT = 1;

// Header: 8-byte magic, uint32 bytes per id (2 or 4), uint32 id count; the ids follow in the
// platform's byte order (little-endian on every machine Node runs this on).
// 16 bytes keeps the ids aligned for a zero-copy typed-array view.
const MAGIC = Buffer.from('INRTOK\u0000\u0001', 'latin1');
const HEADER_BYTES = 16;

export interface CacheKeyParts {
  /** sha256 (hex) of the split's text bytes. */
  contentSha256: string;
  tokenizer: string;
  /** How text is cut before encoding (e.g. 'lines-skip-blank'): part of what the ids mean. */
  segmentation: string;
}

export function tokenCacheKey(parts: CacheKeyParts): string {
  return createHash('sha256')
    .update(`inrank-token-cache\nformat ${TOKEN_CACHE_FORMAT}\ntokenizer ${parts.tokenizer}\n`)
    .update(`segmentation ${parts.segmentation}\ncontent ${parts.contentSha256}\n`)
    .digest('hex');
}

export function tokenCachePath(cacheDir: string, label: string, key: string): string {
  return join(cacheDir, `${label}.${key.slice(0, 24)}.tok`);
}

/** The cached ids, or null when the file is missing or not a complete cache file. */
export async function readTokenCache(path: string): Promise<TokenIds | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const width = bytes.readUInt32LE(8);
  const count = bytes.readUInt32LE(12);
  if ((width !== 2 && width !== 4) || bytes.length !== HEADER_BYTES + count * width) return null;
  let offset = bytes.byteOffset + HEADER_BYTES;
  let buffer = bytes.buffer;
  if (offset % width !== 0) {
    // A pooled Buffer can start anywhere; typed-array views need aligned offsets.
    buffer = bytes.buffer.slice(offset, offset + count * width);
    offset = 0;
  }
  return width === 2 ? new Uint16Array(buffer, offset, count) : new Uint32Array(buffer, offset, count);
}

/** Writes to a temporary file and renames it, so a reader never sees a half-written cache. */
export async function writeTokenCache(path: string, ids: TokenIds, cacheDir: string): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(ids.BYTES_PER_ELEMENT, 8);
  header.writeUInt32LE(ids.length, 12);
  const body = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const file = await open(temp, 'w');
    try {
      await file.write(header);
      await file.write(body);
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
