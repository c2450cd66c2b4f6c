// Names a user gives that travel into other programs: a model's display name (it is part of
// every run name), a profile's model keys, a spec's name. A run name becomes a Slurm job name
// and sits on a comment line of the job's batch script, so a newline in it would start a new
// shell command there. Names are therefore one word of a safe set, checked where a spec, a
// profile or an override is read, before anything runs.
import { z } from 'zod';

/** Letters, digits, then also . _ + - : one word, one line, nothing a shell or Slurm reads specially. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
export const SAFE_NAME_RULE = 'a name is one word of letters, digits and . _ + - (starting with a letter or digit)';

export const safeNameSchema = z.string().regex(SAFE_NAME, SAFE_NAME_RULE);

/** A name for an error line: quoted, with any newline or control character escaped. */
export function quoteName(name: string): string {
  return JSON.stringify(name);
}
