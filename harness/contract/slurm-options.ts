// What a user can set for `--executor slurm`: where jobs go and what each run asks for. A
// contract because specs and profiles carry these keys, and the Slurm executor reads them.
import { z } from 'zod';
import { describeZodIssue, UserError } from './errors.ts';

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
  if (!result.success) throw new UserError(`slurm option ${describeZodIssue(result.error)}`);
  return result.data;
}
