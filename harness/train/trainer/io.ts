// What a training run talks to: the event stream, the log, and the stop request of a signal.
import type { TrainEvent } from '../../contract/protocol.ts';

export interface TrainerIO {
  emit(event: TrainEvent): void;
  log(line: string): void;
  /** True once SIGTERM / SIGINT arrived: finish the step, checkpoint, stop. */
  stopRequested(): boolean;
}
