// Entry of a spectrum worker thread. Worker threads do not inherit the tsx loader the
// trainer runs under, so this plain-JS file registers it and then loads the TypeScript
// worker named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
