// Dynamic loss scaling with the semantics of torch.cuda.amp.GradScaler: start at initScale,
// halve and skip the step when a gradient is Inf/NaN, double after growthInterval clean steps.
export interface LossScalerState {
  scale: number;
  /** Clean steps since the last change of scale. */
  growthTracker: number;
}

export class LossScaler {
  state: LossScalerState;
  constructor(
    initScale: number,
    private readonly growthInterval: number,
    private readonly backoffFactor = 0.5,
    private readonly growthFactor = 2,
  ) {
    this.state = { scale: initScale, growthTracker: 0 };
  }
  get scale(): number {
    return this.state.scale;
  }
  /** Records one step's outcome; returns true when the optimizer step must be skipped. */
  update(gradsFinite: boolean): boolean {
    if (!gradsFinite) {
      this.state = { scale: this.state.scale * this.backoffFactor, growthTracker: 0 };
      return true;
    }
    const tracker = this.state.growthTracker + 1;
    this.state =
      tracker >= this.growthInterval
        ? { scale: this.state.scale * this.growthFactor, growthTracker: 0 }
        : { scale: this.state.scale, growthTracker: tracker };
    return false;
  }
}
