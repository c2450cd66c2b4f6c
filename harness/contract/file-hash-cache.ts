// Content hashes of data files, remembered by path, size, mtime and inode in one small JSON
// file in the token-cache folder, so a sweep hashes WikiText-103's 540 MB once, not at every
// plan. A file edited in place changes its mtime (or size) and is hashed again; a folder moved
// elsewhere is hashed again under its new paths and gives the same hashes. Losing the file (or
// a write that fails) only costs a recompute: the hashes are never trusted beyond these keys.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';

export const FILE_HASH_CACHE_NAME = 'data-fingerprints.json';
const FORMAT = 1;

interface Entry {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

export class FileHashCache {
  private changed = false;

  private constructor(
    private readonly path: string,
    private readonly entries: Record<string, Entry>,
  ) {}

  /** The cache kept in cacheDir; an absent or unreadable file is an empty cache. */
  static async open(cacheDir: string): Promise<FileHashCache> {
    const path = join(cacheDir, FILE_HASH_CACHE_NAME);
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as { format?: number; files?: Record<string, Entry> };
      if (parsed.format === FORMAT && parsed.files && typeof parsed.files === 'object') return new FileHashCache(path, parsed.files);
    } catch {
      // missing or damaged: start empty
    }
    return new FileHashCache(path, {});
  }

  /** The remembered hash of the file at path, when its size, mtime and inode are what they were. */
  get(path: string, st: Stats): string | null {
    const e = this.entries[path];
    return e && e.size === st.size && e.mtimeMs === st.mtimeMs && e.ino === st.ino ? e.sha256 : null;
  }

  set(path: string, st: Stats, sha256: string): void {
    this.entries[path] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 };
    this.changed = true;
  }

  /** Writes the cache when it changed (temp file + rename: a reader never sees half of it); failures are ignored. */
  async save(): Promise<void> {
    if (!this.changed) return;
    const temp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(join(this.path, '..'), { recursive: true });
      await writeFile(temp, JSON.stringify({ format: FORMAT, files: this.entries }));
      await rename(temp, this.path);
      this.changed = false;
    } catch {
      await rm(temp, { force: true }).catch(() => {});
    }
  }
}
