// GPT-2 byte-level BPE (js-tiktoken's gpt2 ranks, no network needed) with the reference's
// line-by-line convention: the reference feeds the tokenizer one line of the text file at a time
// (each line keeps its trailing "\n"), skips blank lines, and adds no EOS token.
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { GPT2_VOCAB_SIZE } from '../../contract/vocabulary.ts';

export const TOKENIZER_NAME = 'gpt2';

export { GPT2_VOCAB_SIZE };

// Pieces seen again are looked up instead of re-encoded: English repeats its words, and this
// roughly doubles the encode speed. The memo is dropped when it grows past this many pieces so
// memory stays bounded on a 540 MB corpus.
const MEMO_LIMIT = 200_000;

export class Gpt2Tokenizer {
  readonly name = TOKENIZER_NAME;
  readonly vocabSize = GPT2_VOCAB_SIZE;
  private readonly bpe = new Tiktoken(gpt2Ranks);
  // The pre-tokenizer splits text into pieces that BPE encodes independently of each other,
  // so encoding piece by piece gives exactly the ids of encoding the whole string.
  private readonly pieces = new RegExp(gpt2Ranks.pat_str, 'gu');
  private readonly memo = new Map<string, readonly number[]>();

  /** Ids of `text`, special-token strings treated as ordinary text. */
  encode(text: string): number[] {
    const out: number[] = [];
    this.encodeInto(text, out);
    return out;
  }

  /** Appends the ids of `text` to `out` (avoids an intermediate array per line). */
  encodeInto(text: string, out: { push(...ids: number[]): unknown }): void {
    for (const match of text.matchAll(this.pieces)) {
      const piece = match[0];
      let ids = this.memo.get(piece);
      if (ids === undefined) {
        ids = this.bpe.encode(piece, [], []);
        if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
        this.memo.set(piece, ids);
      }
      out.push(...ids);
    }
  }

  decode(ids: ArrayLike<number>): string {
    return this.bpe.decode(Array.from(ids));
  }
}

/** True for a line the reference drops before tokenizing (empty or whitespace only). */
export function isBlankLine(line: string): boolean {
  return line.trim().length === 0;
}
