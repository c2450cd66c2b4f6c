// Ctrl-C during a sweep on Slurm: the jobs live on the cluster, not under this process, so
// the user chooses. Cancel: scancel every job (the trainers checkpoint, the runs end
// interrupted, a rerun resumes them). Leave: the jobs keep running; the runs end interrupted
// here and a rerun reattaches to the jobs and stores what they wrote meanwhile.
import { createInterface } from 'node:readline';
import type { SlurmExecutor } from './executor.ts';

export type InterruptChoice = 'cancel' | 'leave';

export interface PromptIO {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream;
}

/**
 * Asks whether to cancel the sweep's jobs or leave them running, and tells the executor.
 * Without a terminal to ask on (CI, a batch script, SIGTERM from a supervisor) it cancels:
 * nothing keeps running that nobody asked for.
 */
export async function askCancelOrLeave(executor: SlurmExecutor, io: PromptIO = { input: process.stdin, output: process.stderr }): Promise<InterruptChoice> {
  if (!io.input.isTTY) return 'cancel';
  const rl = createInterface({ input: io.input, output: io.output });
  try {
    for (;;) {
      const answer = await new Promise<string>((resolve) =>
        rl.question('Slurm jobs of this sweep are queued or running: [c]ancel them (scancel) or [l]eave them running? ', resolve),
      );
      const word = answer.trim().toLowerCase();
      if (word === 'c' || word === 'cancel') return 'cancel';
      if (word === 'l' || word === 'leave') {
        executor.leaveRunning();
        return 'leave';
      }
    }
  } finally {
    rl.close();
  }
}
