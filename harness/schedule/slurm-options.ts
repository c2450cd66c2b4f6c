// What a user can set for `--executor slurm`: where jobs go and what each run asks for.
// The same keys come from the command line (--slurm-partition ...), a spec or a profile.
import { z } from 'zod';
import { UserError } from '../train/config.ts';

/** Slurm's --time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
const SLURM_TIME = /^(\d+-\d{1,2}(:\d{1,2}){0,2}|\d+(:\d{1,2}){0,2})$/;
/** Slurm's --mem: a number with an optional K/M/G/T suffix. */
const SLURM_MEM = /^\d+[KMGT]?$/i;

export const slurmOptionsSchema = z.strictObject({
  partition: z.string().min(1).nullable().default(null),
  account: z.string().min(1).nullable().default(null),
  /** Time limit per job (sbatch --time); a run stopped by it resumes from its checkpoint in a new job. */
  time: z
    .string()
    .regex(SLURM_TIME, 'a Slurm time limit such as 90, 4:00:00 or 2-00:00:00')
    .nullable()
    .default(null),
  /** GPUs per run (sbatch --gres=gpu:N); 0 asks for none. The paper's table: 1. */
  gpus: z.number().int().nonnegative().default(0),
  /** CPUs per run (sbatch --cpus-per-task); null leaves the cluster's default (1). */
  cpus: z.number().int().positive().nullable().default(null),
  /** Memory per run (sbatch --mem), e.g. 32G; null leaves the cluster's default. */
  mem: z.string().regex(SLURM_MEM, 'a size such as 16G or 4000M').nullable().default(null),
  /** Further sbatch arguments, passed as given (e.g. ['--qos=long', '--constraint=a100']). */
  extraArgs: z.array(z.string()).default([]),
  /** How often squeue is asked and the events files are read (ms). */
  pollMs: z.number().int().positive().default(5000),
  /** The node binary on the compute nodes; the default is the one on PATH there. */
  node: z.string().min(1).default('node'),
  /**
   * Resubmissions after a job ended by its node failing, preemption or its time limit (each resumes
   * from the last checkpoint). Crashes of the trainer are retried by the same count.
   */
  retries: z.number().int().nonnegative().default(2),
});

export type SlurmOptions = z.infer<typeof slurmOptionsSchema>;
export type SlurmOptionsInput = z.input<typeof slurmOptionsSchema>;

/** Validates Slurm options; a problem is one UserError line naming the option. */
export function parseSlurmOptions(raw: unknown): SlurmOptions {
  const result = slurmOptionsSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    const what = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}` : issue.message;
    throw new UserError(`slurm option ${where}: ${what}`);
  }
  return result.data;
}

/** The command-line flags for Slurm options, with the option each sets. */
export const SLURM_FLAGS: Record<string, keyof SlurmOptions> = {
  '--partition': 'partition',
  '--account': 'account',
  '--time': 'time',
  '--gpus-per-run': 'gpus',
  '--cpus-per-run': 'cpus',
  '--mem-per-run': 'mem',
  '--sbatch-arg': 'extraArgs',
  '--slurm-poll-ms': 'pollMs',
  '--slurm-node': 'node',
};

/**
 * Reads the Slurm flags out of a CLI argument list (`--flag value` or `--flag=value`;
 * --sbatch-arg repeats). Returns the options input and the arguments it did not use.
 */
export function takeSlurmFlags(argv: readonly string[]): { input: SlurmOptionsInput; rest: string[] } {
  const input: Record<string, unknown> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const key = SLURM_FLAGS[flag];
    if (!key) {
      rest.push(arg);
      continue;
    }
    let value: string;
    if (eq > 0 && flag !== arg) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      // `--partition --profile smoke` forgot the value; only --sbatch-arg takes a flag as its value.
      if (next === undefined || (next.startsWith('--') && key !== 'extraArgs')) throw new UserError(`${flag} needs a value`);
      value = next;
      i++;
    }
    if (key === 'extraArgs') input.extraArgs = [...((input.extraArgs as string[] | undefined) ?? []), value];
    else if (key === 'gpus' || key === 'cpus' || key === 'pollMs') {
      const n = Number(value);
      if (!Number.isInteger(n)) throw new UserError(`${flag} needs a whole number (got '${value}')`);
      input[key] = n;
    } else input[key] = value;
  }
  return { input: input as SlurmOptionsInput, rest };
}

/** The sbatch arguments that the options ask for (resources, placement), in a stable order. */
export function resourceArgs(options: SlurmOptions): string[] {
  const args: string[] = [];
  if (options.partition) args.push(`--partition=${options.partition}`);
  if (options.account) args.push(`--account=${options.account}`);
  if (options.time) args.push(`--time=${options.time}`);
  if (options.gpus > 0) args.push(`--gres=gpu:${options.gpus}`);
  if (options.cpus) args.push(`--cpus-per-task=${options.cpus}`);
  if (options.mem) args.push(`--mem=${options.mem}`);
  return [...args, ...options.extraArgs];
}
