// Ctrl-C / SIGTERM to a sweep: the first one stops it gracefully (children get SIGTERM, write
// their checkpoints, runs end 'interrupted'); a second one exits at once, leaving runs
// 'running' for the next sweep's orphan recovery to resume.
export interface SignalStop {
  signal: AbortSignal;
  dispose(): void;
}

// One Ctrl-C can arrive more than once: the terminal signals the whole process group and a
// wrapper (npm, tsx) relays it too. Signals this close to the first count as the same one.
const SAME_SIGNAL_MS = 1500;

export interface StopOptions {
  /**
   * Runs after the first signal and before the sweep is told to stop (e.g. asking whether to
   * cancel cluster jobs or leave them running). A second signal meanwhile quits at once.
   */
  beforeAbort?: () => Promise<unknown>;
}

export function stopOnSignals(log: (line: string) => void, options: StopOptions = {}): SignalStop {
  const controller = new AbortController();
  let firstAt = 0;
  let stopping = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (!stopping) {
      stopping = true;
      firstAt = Date.now();
      log(`${sig}: stopping; running trainings checkpoint and end as interrupted (again to quit at once)`);
      const abort = (): void => controller.abort();
      if (options.beforeAbort) options.beforeAbort().then(abort, abort);
      else abort();
    } else if (Date.now() - firstAt < SAME_SIGNAL_MS) {
      return;
    } else {
      log(`${sig} again: quitting now; the next sweep recovers the runs left running`);
      process.exit(130);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
