// A spectrum worker thread: singular values from Gram matrices (gram-spectrum.ts), one job per
// message. The answer goes back on the job's own port, and the job's shared flag is raised
// so that a training thread blocked in PendingSpectrum.wait() wakes up.
import { parentPort } from 'node:worker_threads';
import { singularValuesFromGrams } from './gram-spectrum.ts';
import { linalgPath } from './linalg.ts';
import type { SpectrumJobMessage, SpectrumReply } from './spectrum-pool.ts';

if (!parentPort) throw new Error('spectrum-worker.ts runs only as a worker thread');

parentPort.on('message', (job: SpectrumJobMessage) => {
  let reply: SpectrumReply;
  try {
    reply = { singularValues: singularValuesFromGrams(job.gramA, job.gramB, job.k) };
  } catch (err) {
    reply = { error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  job.port.postMessage(reply);
  job.port.close();
  Atomics.store(job.done, 0, 1);
  Atomics.notify(job.done, 0);
});
parentPort.postMessage({ ready: linalgPath() });
