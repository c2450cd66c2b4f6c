// The Slurm options on the command line (--partition ...) and the sbatch arguments they ask for;
// the options' schema is in contract/slurm-options.ts.
import { UserError } from '../../contract/errors.ts';
import type { SlurmOptions, SlurmOptionsInput } from '../../contract/slurm-options.ts';

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
