// One line for a spec file that fails to load: `file:line: message`. A spec is user code, so
// whatever goes wrong in it (a syntax error, a throw while it is imported, a missing import, a
// defineSweep complaint) is the user's to fix and is said the way a compiler says it, not as a
// stack. The line comes from the compiler's own location, else from the first stack frame in
// the file, else from the source line naming a module that could not be found.
import { readFileSync } from 'node:fs';

/** What an esbuild TransformError (tsx's compile step) carries about its first problem. */
interface CompileProblem {
  text?: string;
  location?: { file?: string; line?: number } | null;
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The 1-based line of the first stack frame inside `file`, or null. */
function frameLine(stack: string | undefined, file: string): number | null {
  if (!stack) return null;
  const m = new RegExp(`${escapeRegExp(file)}:(\\d+):\\d+`).exec(stack);
  return m ? Number(m[1]) : null;
}

/**
 * The source line importing `specifier` (a module that could not be found), or null. Node may
 * report it resolved to an absolute path, so the quoted string is matched by its last part.
 */
function importLine(file: string, specifier: string): number | null {
  const quoted = new RegExp(`['"]([^'"]*/)?${escapeRegExp(specifier.split('/').pop()!)}['"]`);
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => quoted.test(l));
    return i >= 0 ? i + 1 : null;
  } catch {
    return null;
  }
}

/** The first stack frame in a user file other than `file` (a helper the spec imports), as path:line. */
function helperFrame(stack: string | undefined, file: string): string | null {
  for (const m of (stack ?? '').matchAll(/((?:file:\/\/)?\/[^\s():]+):(\d+):\d+/g)) {
    const path = m[1]!.replace(/^file:\/\//, '');
    if (path !== file && !path.includes('/node_modules/')) return `${path}:${m[2]}`;
  }
  return null;
}

/** Where and what: the compiler's first problem, a missing module, or the thrown error. */
function locate(file: string, err: unknown): { line: number | null; message: string } {
  if (!(err instanceof Error)) return { line: null, message: `threw ${String(err)} while loading` };
  const problems = (err as { errors?: CompileProblem[] }).errors;
  const compile = Array.isArray(problems) ? problems[0] : undefined;
  if (compile?.text && (!compile.location?.file || compile.location.file === file)) {
    return { line: compile.location?.line ?? null, message: `syntax error: ${compile.text}` };
  }
  // The same error after crossing tsx's loader thread keeps only its text: file:line:col: ERROR: text.
  const compiled = /(\S+):(\d+):\d+: ERROR: (.*)/.exec(err.message);
  if (compiled) {
    const [, path, line, text] = compiled;
    if (path === file) return { line: Number(line), message: `syntax error: ${text!.trim()}` };
    return { line: null, message: `in ${path}:${line}, which it imports: syntax error: ${text!.trim()}` };
  }
  const code = (err as { code?: string }).code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    const specifier = /Cannot find (?:module|package) '([^']+)'/.exec(err.message)?.[1];
    const line = specifier ? importLine(file, specifier) : null;
    return { line, message: firstLine(err.message).replace(/ imported from .*$/, '') };
  }
  // A UserError from defineSweep already names the key; keep its text, find the call's line.
  // A UserError is one line by contract, though it may quote a value with a newline in it: kept whole.
  const message = (err.name === 'UserError' ? err.message.replace(/\r?\n/g, '\\n') : firstLine(err.message)) || err.name;
  const line = frameLine(err.stack, file);
  if (line !== null) return { line, message };
  const helper = helperFrame(err.stack, file);
  return { line: null, message: helper ? `in ${helper}, which it imports: ${message}` : message };
}

/** `file:line: message` (or `file: message` when no line is known), one line. */
export function describeSpecFailure(file: string, err: unknown): string {
  const { line, message } = locate(file, err);
  return `${file}${line ? `:${line}` : ''}: ${message}`;
}
