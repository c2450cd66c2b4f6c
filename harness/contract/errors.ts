// The user-error contract every command and the trainer share: a UserError is printed as one
// line and exits with code 2; anything else is an internal failure and keeps its stack.
import type { z } from 'zod';

/** A user's mistake: reported as one line, exit code 2. */
export class UserError extends Error {
  override name = 'UserError';
}

/** One line for the first problem zod found: the key it is at and what is wrong there. */
export function describeZodIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') : '(root)';
  const what = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}` : issue.message;
  return `${where}: ${what}`;
}
