// What produced a run (issue 18, provenance): the code (git commit and a hash of the uncommitted
// diff, from the harness once per sweep), the runtime (package versions, backend, Node, OS, CPU,
// from the trainer's start event), the GPU adapter (the start event's adapter) and the data
// fingerprint (from the stored run config). Shared by the trainer, the store and the report.

/**
 * The environment variable that hands a sweep's code facts (JSON) to its trainers, so a run's
 * start event names the code it was launched with even when another harness process stores it
 * (a detached Slurm job collected later).
 */
export const CODE_FACTS_ENV = 'INRANK_CODE_FACTS';

/** The code a sweep ran, as git saw it in the harness's checkout. */
export interface CodeFacts {
  /** The commit checked out, or 'unknown' (not a git checkout, git missing). */
  commit: string;
  /** sha256 of `git diff HEAD` (tracked files); null when the checkout is clean or unknown. */
  diffHash: string | null;
  /** Tracked files the diff touches (0 when clean; null when unknown). */
  changedFiles: number | null;
  /** Why the commit is unknown. */
  reason?: string;
}

/** What the trainer process ran on: its start event carries it. */
export interface RuntimeFacts {
  node: string;
  /** e.g. 'Linux 6.1.0 x64'. */
  os: string;
  /** The first CPU's model name and the number of logical CPUs. */
  cpu: string;
  cpus: number;
  host: string;
  /** Versions of the tfjs packages loaded (core and the backend's own package). */
  packages: Record<string, string>;
  backend: string;
  matmul: string;
  /** The native matmul (OpenBLAS library and threads), when it serves the matmuls. */
  native: string | null;
  /** The NVIDIA driver's version line, where the machine has one. */
  gpuDriver: string | null;
}

/** One start of a run: the facts it trained under from step fromStep on. */
export interface ProvenanceEntry {
  at: string;
  fromStep: number;
  code: CodeFacts | null;
  runtime: RuntimeFacts | null;
  /** The run config's data.fingerprint, as stored (null when the config has none). */
  data: unknown;
}

/** The stored provenance: the latest start, and earlier starts whose facts differed. */
export interface RunProvenance extends ProvenanceEntry {
  earlier?: ProvenanceEntry[];
}
