// What an executor brings to a sweep besides launching runs: its own command-line flags, its
// slots, the line that says where runs go, a check before anything is stored, the results of
// jobs no harness followed, --detach, and what Ctrl-C asks. The CLIs see executors only
// through this interface and the registry (executors.ts); no CLI names an executor module.
import type { RunPlan } from '../spec/plan.ts';
import type { Store } from '../store/store.ts';
import type { DeviceEnv } from './devices.ts';
import type { Executor, Slot } from './executor.ts';

/** What a sweep's command line and spec say about the executor it chose. */
export interface ExecutorSettings {
  /** This executor's own flags as its takeFlags read them (e.g. Slurm's --partition). */
  flags: Record<string, unknown>;
  /** The spec's and profile's block for this executor (e.g. `slurm: {...}`), under the flags. */
  block: Record<string, unknown>;
  retries: number;
  detach: boolean;
  /** The trainer entry point, and whether the user named it (--trainer). */
  trainer: string;
  customTrainer: boolean;
  /** --devices as typed, and this machine's devices. */
  devices: string | undefined;
  /** --runs-per-device as typed (undefined: not given); runs that share each GPU. */
  runsPerDevice: number | undefined;
  deviceEnv: DeviceEnv;
  maxParallel: number | undefined;
}

/** An executor opened for one sweep. */
export interface SweepExecutor {
  readonly executor: Executor;
  /** Runs go to this machine's devices (the sweep then names its GPUs and WebGPU adapter first). */
  readonly onThisMachine: boolean;
  /** The slots for a sweep of planCount runs. */
  slots(planCount: number): Slot[];
  /** One line: where the runs go and how many at once. */
  describe(slots: Slot[]): string;
  /** The line --dry-run adds about the executor, or null. */
  dryRunLine(): string | null;
  /** Checks what can only be checked against the machine or cluster, before anything is stored. */
  check(): Promise<void>;
  /** This executor's settings, stored with the sweep. */
  storedArgs(): Record<string, unknown>;
  /** Stores the results of jobs that ran while no harness followed them; returns how many. */
  collectUnattended?(store: Store): Promise<number>;
  /** --detach: submit every run and return; one line per run through say. */
  submitDetached?(store: Store, plans: RunPlan[], say: (line: string) => void): Promise<number>;
  /** Asked on Ctrl-C before the sweep aborts (e.g. cancel cluster jobs or leave them). */
  beforeAbort?(): Promise<unknown>;
}

export interface ExecutorPlugin {
  /** The name on the command line and in specs, stored as the runs' executor. */
  readonly name: string;
  /** For messages: "applies to Slurm only". */
  readonly label: string;
  /** Whether --detach means something here. */
  readonly detaches: boolean;
  /** Reads this executor's flags out of an argument list; `given` lists the flags as typed. */
  takeFlags(argv: readonly string[]): { flags: Record<string, unknown>; given: string[]; rest: string[] };
  open(settings: ExecutorSettings): SweepExecutor;
  /** For `npm run report`: store results of jobs nobody followed; cheap when there are none. */
  collectForReport?(db: string, note: (line: string) => void): Promise<void>;
}
