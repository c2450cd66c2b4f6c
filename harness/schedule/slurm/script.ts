// The batch script of one run's job, and the sbatch arguments that go with it. The job runs
// the same trainer child as the local executor, with the same config file, and leaves
// everything the harness needs in the run's folder on the shared filesystem:
//   events.jsonl          the child's stdout (protocol events), appended by every attempt
//   train.log             the child's stderr, appended
//   slurm-<job>.exit      the child's exit code, written when it ends (no sacct needed)
//   slurm-<job>.out       anything the batch script itself prints
import { join } from 'node:path';

export interface BatchJob {
  runId: string;
  /** Job name: the run's readable name. */
  name: string;
  outDir: string;
  /** Absolute repository root: the job's working directory, where tsx and the trainer resolve. */
  repoRoot: string;
  /** The child command before its config path, e.g. ['node', '--import', 'tsx', '/repo/harness/train/main.ts']. */
  command: string[];
  /** Environment the child needs beyond what sbatch exports (e.g. BLAS thread counts). */
  env: Record<string, string>;
}

export const EVENTS_FILE = 'events.jsonl';
export const LOG_FILE = 'train.log';
export const CONFIG_FILE = 'config.json';
/** The same config with resume: true, used when Slurm itself requeues the job (preemption, node failure). */
export const RESUME_CONFIG_FILE = 'config.resume.json';

export const exitFile = (outDir: string, jobId: string): string => join(outDir, `slurm-${jobId}.exit`);

/** Single-quotes a word for bash. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A name as it may stand in the script's comment line and in --job-name. Names are checked at
 * spec validation (contract/names.ts); this keeps a name that skipped that check (a config
 * written by hand) from ever putting a second line, and so a command, into the script.
 */
export function scriptSafeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._+-]/g, '_') || 'run';
}

export function batchScript(job: BatchJob): string {
  const q = shellQuote;
  const exports = Object.entries(job.env)
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map(([k, v]) => `export ${k}=${q(v)}`);
  return [
    '#!/bin/bash',
    `# InRank harness run ${scriptSafeName(job.runId)}: ${scriptSafeName(job.name)}`,
    'set -u',
    `out=${q(job.outDir)}`,
    `cd ${q(job.repoRoot)} || exit 1`,
    ...exports,
    // Slurm reruns a requeued job from the top with the same id: that attempt must continue
    // from the run's last checkpoint, not start over.
    `config="$out/${CONFIG_FILE}"`,
    `if [ "\${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then config="$out/${RESUME_CONFIG_FILE}"; fi`,
    `echo "--- $(date -u +%Y-%m-%dT%H:%M:%SZ) slurm job $SLURM_JOB_ID (restart \${SLURM_RESTART_COUNT:-0}) on $(hostname)" >> "$out/${LOG_FILE}"`,
    // scancel and the time limit send SIGTERM to every process of the job. The trainer
    // checkpoints on it; this shell only has to outlive the trainer to write its exit code
    // (a trap, unlike an ignored signal, is not inherited by the child).
    `trap 'echo "--- slurm job $SLURM_JOB_ID: SIGTERM" >> "$out/${LOG_FILE}"' TERM`,
    `${job.command.map(q).join(' ')} "$config" >> "$out/${EVENTS_FILE}" 2>> "$out/${LOG_FILE}"`,
    'status=$?',
    `echo "$status" > "$out/slurm-$SLURM_JOB_ID.exit.tmp" && mv "$out/slurm-$SLURM_JOB_ID.exit.tmp" "$out/slurm-$SLURM_JOB_ID.exit"`,
    'exit "$status"',
    '',
  ].join('\n');
}

/** sbatch arguments that identify the job and place its output; resources come from the options. */
export function identityArgs(job: BatchJob, dependsOnJob: string | null): string[] {
  const args = [
    `--job-name=${scriptSafeName(job.name)}`,
    // The run id travels with the job so that `squeue -O Comment` ties a job to its run.
    `--comment=${job.runId}`,
    `--chdir=${job.repoRoot}`,
    `--output=${join(job.outDir, 'slurm-%j.out')}`,
    '--open-mode=append',
    // Requeue on node failure or preemption where the cluster allows it; the script resumes.
    '--requeue',
    // Everything the harness's environment has (PATH to node, the BLAS and CUDA settings).
    '--export=ALL',
  ];
  if (dependsOnJob) args.push(`--dependency=afterok:${dependsOnJob}`);
  return args;
}
