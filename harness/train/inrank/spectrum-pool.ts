// Worker threads that take rank determinations' float64 host work off the training thread.
//
// Why: a determination's backend part (two k x k Gram products) is cheap on a GPU, but its
// host part (Cholesky, core, eigenvalues: O(k^3) float64 work, in LAPACK or JavaScript) is not:
// at the ranks gpt2-medium reaches it costs a large share of a GPU step (scripts/bench-rank.ts). With a
// determination lag (inrank.determinationLag > 0) a layer reads its Grams back, submits them
// here, and keeps training; the result is applied a fixed number of counter ticks later.
//
// The training thread waits synchronously (Atomics.wait) at the tick the result is due, so
// the layer's forward stays synchronous and the run stays deterministic: a rank applies at
// the same tick however fast the workers are. Only a worker slower than the lag costs time.
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { LinalgPath } from './linalg.ts';
import { loadBlasAddon, loadedAddon } from '../backend/native-addon.ts';

/** What a worker receives. gramA and gramB are k x k, row-major, as the backend read them back. */
export interface SpectrumJobMessage {
  gramA: Float32Array | Float64Array;
  gramB: Float32Array | Float64Array;
  k: number;
  port: MessagePort;
  /** Shared flag, set to 1 by the worker once its reply is on the port. */
  done: Int32Array;
}

export type SpectrumReply = { singularValues: Float64Array } | { error: string };

const BOOT = new URL('./spectrum-worker-boot.mjs', import.meta.url);
const ENTRY = new URL('./spectrum-worker.ts', import.meta.url).href;
/** A job this late means a worker died (a thrown error comes back as a reply); a k of 1000 takes seconds. */
const JOB_TIMEOUT_MS = 300_000;
const START_TIMEOUT_MS = 60_000;

/** One submitted determination; wait() blocks the calling thread until its singular values arrive. */
export class PendingSpectrum {
  private result: Float64Array | null = null;

  constructor(
    private readonly port: MessagePort,
    private readonly done: Int32Array,
  ) {}

  wait(): Float64Array {
    if (this.result) return this.result;
    const t0 = performance.now();
    for (;;) {
      const msg = receiveMessageOnPort(this.port);
      if (msg) {
        this.port.close();
        const reply = msg.message as SpectrumReply;
        if ('error' in reply) throw new Error(`spectrum worker failed: ${reply.error}`);
        this.result = reply.singularValues;
        return this.result;
      }
      if (performance.now() - t0 > JOB_TIMEOUT_MS) {
        throw new Error(`spectrum worker gave no answer in ${JOB_TIMEOUT_MS / 1000} s (the worker thread died?)`);
      }
      Atomics.wait(this.done, 0, 0, 1000);
    }
  }

  /** Drops the answer (the layer went away); the worker finishes the job and the reply is discarded. */
  cancel(): void {
    this.port.close();
  }
}

export class SpectrumPool {
  private next = 0;
  /** A worker's uncaught error, seen between jobs; the pool refuses new work after one. */
  private failure: Error | null = null;

  private constructor(
    private readonly workers: Worker[],
    /** Where the workers' float64 work runs (LAPACK when the addon loaded in them). */
    readonly linalgPath: LinalgPath,
  ) {
    for (const w of workers) w.on('error', (err) => (this.failure ??= err));
  }

  /**
   * Starts `size` workers and waits until each has loaded (so a broken install fails here, with
   * its error). With more than one worker, OpenBLAS is set to one thread for the whole process:
   * the parallelism comes from the workers, and OpenBLAS's own threads on top oversubscribe the
   * cores (measured: 2 workers x 2 OpenBLAS threads on 2 cores ran 3-10x slower than one
   * thread inline; with 1 OpenBLAS thread each, 1.2-1.9x faster; scripts/bench-rank.ts).
   */
  static async start(size: number): Promise<SpectrumPool> {
    if (!Number.isInteger(size) || size < 1) throw new Error(`spectrum pool size must be an integer >= 1 (got ${size})`);
    if (size > 1 && loadBlasAddon().loaded) loadedAddon().setThreads(1);
    const workers = Array.from({ length: size }, () => new Worker(BOOT, { workerData: { entry: ENTRY } }));
    let paths: LinalgPath[];
    try {
      paths = await Promise.all(workers.map((w) => ready(w)));
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    const pool = new SpectrumPool(workers, paths.every((p) => p === 'lapack') ? 'lapack' : 'javascript');
    // Idle workers must not keep a finished trainer alive.
    for (const w of workers) w.unref();
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Queues the singular values of B A from GA = A A^T and GB = B^T B. The arrays are copied
   * (a backend's read-back may be its own storage): about 0.1 ms per layer at k = 300.
   */
  submit(gramA: Float32Array | Float64Array, gramB: Float32Array | Float64Array, k: number): PendingSpectrum {
    if (this.workers.length === 0) throw new Error('spectrum pool is closed');
    if (this.failure) throw new Error(`a spectrum worker failed: ${this.failure.message}`);
    const { port1, port2 } = new MessageChannel();
    const done = new Int32Array(new SharedArrayBuffer(4));
    const worker = this.workers[this.next++ % this.workers.length]!;
    const job: SpectrumJobMessage = { gramA, gramB, k, port: port2, done };
    worker.postMessage(job, [port2]);
    return new PendingSpectrum(port1, done);
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Resolves with the worker's linear-algebra path once it has loaded. */
function ready(worker: Worker): Promise<LinalgPath> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`spectrum worker did not start in ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    worker.once('message', (msg: { ready: LinalgPath }) => {
      clearTimeout(timer);
      resolve(msg.ready);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`spectrum worker failed to start: ${err.message}`));
    });
  });
}
