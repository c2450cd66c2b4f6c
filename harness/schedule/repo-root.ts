// Paths the harness ships (the trainer entry point, experiments/) are found from this file's
// location, so a sweep started from any working directory launches the same trainer.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TRAINER_ENTRY = resolve(REPO_ROOT, 'harness', 'train', 'main.ts');
