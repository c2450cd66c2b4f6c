// Which training windows a step uses. An epoch is a permutation of the training windows seeded
// by (seed, epoch); step s reads globalBatch windows at position (s mod stepsPerEpoch) *
// globalBatch of epoch floor(s / stepsPerEpoch). The data position is therefore a function of
// the step: resume needs nothing else. The windows past the last full global batch of an epoch
// are not used in that epoch (the next permutation covers them with the others).
import { permutation, streamKey } from '../ops/random.ts';

export class EpochBatches {
  private cachedEpoch = -1;
  private perm: Uint32Array = new Uint32Array(0);

  constructor(
    readonly windowCount: number,
    readonly globalBatch: number,
    private readonly seed: number,
  ) {}

  get stepsPerEpoch(): number {
    return Math.floor(this.windowCount / this.globalBatch);
  }

  /** Epoch and position (index of the first window in the epoch's permutation) of a step. */
  positionOf(step: number): { epoch: number; position: number } {
    const spe = this.stepsPerEpoch;
    return { epoch: Math.floor(step / spe), position: (step % spe) * this.globalBatch };
  }

  /** The window indices of one step, in micro-batch order. */
  windowsOf(step: number): Uint32Array {
    const { epoch, position } = this.positionOf(step);
    if (epoch !== this.cachedEpoch) {
      this.perm = permutation(streamKey(this.seed, 0xe70c, epoch), this.windowCount);
      this.cachedEpoch = epoch;
    }
    return this.perm.subarray(position, position + this.globalBatch);
  }
}
