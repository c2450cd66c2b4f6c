// Language-model windows over one split's token stream, cut as the reference's LM dataset
// cuts them: window i spans tokens[i*context ... i*context + context] (context + 1 tokens),
// consecutive windows share one boundary token, and a last partial window is dropped.
// Inputs are a window's first `context` ids, targets its last `context` (shifted by one).
import { UserError } from '../../contract/errors.ts';
import type { TokenIds } from './token-buffer.ts';

export class TokenWindows {
  readonly count: number;

  constructor(
    private readonly tokens: TokenIds,
    readonly context: number,
    /** Names the split in the error when it is too short (e.g. 'valid'). */
    readonly split = 'token',
  ) {
    if (!Number.isInteger(context) || context < 1) throw new RangeError(`TokenWindows: context must be a positive integer, got ${context}`);
    this.count = tokens.length > 0 ? Math.floor((tokens.length - 1) / context) : 0;
    if (this.count < 1) {
      throw new UserError(
        `the ${split} split has ${tokens.length} tokens, too few for one window of context ${context} (needs ${context + 1}); ` +
          'use a smaller model.context or a larger corpus',
      );
    }
  }

  /**
   * Writes the requested windows in order, row-major: row j of `inputs` / `targets` is window
   * windowIndices[j]. Both arrays need room for windowIndices.length * context ids.
   */
  fill(windowIndices: ArrayLike<number>, inputs: Int32Array, targets: Int32Array): void {
    const { context, tokens } = this;
    const needed = windowIndices.length * context;
    if (inputs.length < needed || targets.length < needed) {
      throw new RangeError(`TokenWindows.fill: ${windowIndices.length} windows of ${context} need ${needed} ids, got inputs ${inputs.length}, targets ${targets.length}`);
    }
    for (let row = 0; row < windowIndices.length; row++) {
      const index = windowIndices[row]!;
      if (!Number.isInteger(index) || index < 0 || index >= this.count) {
        throw new RangeError(`TokenWindows.fill: window ${index} out of range [0, ${this.count}) for the ${this.split} split`);
      }
      const start = index * context;
      inputs.set(tokens.subarray(start, start + context), row * context);
      targets.set(tokens.subarray(start + 1, start + context + 1), row * context);
    }
  }
}
