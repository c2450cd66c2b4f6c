// A growable array of token ids stored as Uint16 (every GPT-2 id fits) or Uint32, so a corpus
// of 100M+ tokens never becomes a JS number[] (8 bytes per id).
export type TokenIds = Uint16Array | Uint32Array;

export class TokenBuffer {
  private data: TokenIds;
  private length = 0;

  constructor(
    /** Largest id + 1 this buffer will hold: decides Uint16 versus Uint32. */
    readonly vocabSize: number,
    initialCapacity = 1 << 16,
  ) {
    this.data = allocateIds(vocabSize, Math.max(16, Math.ceil(initialCapacity)));
  }

  get size(): number {
    return this.length;
  }

  push(...ids: number[]): void {
    if (this.length + ids.length > this.data.length) this.grow(this.length + ids.length);
    for (const id of ids) this.data[this.length++] = id;
  }

  /** The ids so far, trimmed to size (a copy when much of the capacity is unused). */
  finish(): TokenIds {
    const used = this.data.subarray(0, this.length);
    return this.length < this.data.length * 0.9 ? used.slice() : used;
  }

  private grow(needed: number): void {
    const next = allocateIds(this.vocabSize, Math.max(needed, Math.ceil(this.data.length * 1.5)));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
}

export function allocateIds(vocabSize: number, length: number): TokenIds {
  return vocabSize <= 65536 ? new Uint16Array(length) : new Uint32Array(length);
}
