// Finding specs: every file in experiments/ whose default export is a defineSweep(...) is a spec,
// named after the file (lm-evaluation-harness style: adding a grid is adding one file).
// Each file is loaded on its own: a broken one fails only the command that names it, and
// --list shows it as broken.
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError } from '../contract/errors.ts';
import { quoteName, SAFE_NAME, SAFE_NAME_RULE } from '../contract/names.ts';
import { didYouMean } from './closest.ts';
import { isSweepSpec, withSpecName } from './define.ts';
import { expandSweep } from './expand.ts';
import { isPlainObject } from './paths.ts';
import { profileNames } from './profile.ts';
import { describeSpecFailure } from './spec-error.ts';
import type { SweepSpec } from './types.ts';

/** The repository's experiments/ folder, from this module's location (not the cwd). */
export const EXPERIMENTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../experiments');

export interface SpecSummary {
  name: string;
  description: string;
  file: string;
  /** Profile name -> number of runs it expands to (stage 1 and stage 2 count as two). */
  runs: Record<string, number>;
  /** Profiles the spec fails to expand on, with the one-line reason. */
  problems: Record<string, string>;
  /** The file does not load (`file:line: message`); null when it does. */
  broken: string | null;
}

function candidateFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    throw new UserError(`no experiments folder at ${dir}`);
  }
  return entries.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts') && !f.startsWith('_')).sort();
}

/**
 * Imports one spec file. A file without a default export is a helper module (null); anything
 * that goes wrong in a spec file is one UserError line, `file:line: message` (spec-error.ts).
 */
async function importSpec(file: string): Promise<SweepSpec | null> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    throw new UserError(describeSpecFailure(file, err));
  }
  // No default export (an empty one where the folder's modules load as CommonJS): a helper module.
  if (mod.default === undefined || (isPlainObject(mod.default) && Object.keys(mod.default).length === 0)) return null;
  if (!isSweepSpec(mod.default)) throw new UserError(`${file}: its default export is not a sweep spec (write \`export default defineSweep({...})\`)`);
  const name = mod.default.name || basename(file, extname(file));
  // The sweep is stored and shown under this name: a file name with spaces or a newline is refused like any other unsafe name.
  if (!SAFE_NAME.test(name)) throw new UserError(`${file}: the spec is named after its file, and ${quoteName(name)} is not a safe name: rename the file (${SAFE_NAME_RULE})`);
  return withSpecName(mod.default, name);
}

/** Loads one spec by name (or by a path to a .ts file). Unknown name: UserError with the closest and the list. */
export async function loadSpec(name: string, dir: string = EXPERIMENTS_DIR): Promise<SweepSpec> {
  if (name.endsWith('.ts') || name.includes('/')) {
    const file = resolve(name);
    if (!existsSync(file)) throw new UserError(`spec file not found: ${file}`);
    const spec = await importSpec(file);
    if (!spec) throw new UserError(`${file}: not a sweep spec (expected \`export default defineSweep({...})\`)`);
    return spec;
  }
  // Only the named file is imported: a broken spec elsewhere in the folder does not matter here.
  const files = candidateFiles(dir);
  const file = files.find((f) => basename(f, '.ts') === name);
  if (file) {
    const spec = await importSpec(join(dir, file));
    if (spec) return spec;
  }
  // Suggestions skip files that fail to load: the error here is the unknown name.
  const available = (await listSpecFiles(dir)).flatMap((s) => ('spec' in s ? [s.name] : []));
  throw new UserError(`unknown spec '${name}'${didYouMean(name, available)}; specs: ${available.join(', ')}`);
}

type ListedFile = { name: string; file: string; spec: SweepSpec } | { name: string; file: string; broken: string };

/** Every spec file in the folder, each loaded on its own: a broken one is listed with its line, not thrown. */
async function listSpecFiles(dir: string): Promise<ListedFile[]> {
  const out: ListedFile[] = [];
  for (const f of candidateFiles(dir)) {
    const file = join(dir, f);
    try {
      const spec = await importSpec(file);
      if (spec) out.push({ name: spec.name, file, spec });
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      out.push({ name: basename(f, '.ts'), file, broken: err.message });
    }
  }
  return out;
}

/** Every spec with its description and run count per profile (for `--list`); broken files say why. */
export async function listSpecs(dir: string = EXPERIMENTS_DIR): Promise<SpecSummary[]> {
  const specs = await listSpecFiles(dir);
  return specs.map((listed) => {
    const { name, file } = listed;
    if (!('spec' in listed)) return { name, description: '', file, runs: {}, problems: {}, broken: listed.broken };
    const { spec } = listed;
    const runs: Record<string, number> = {};
    const problems: Record<string, string> = {};
    for (const profile of profileNames(spec)) {
      try {
        runs[profile] = expandSweep(spec, { profile, runsDir: 'results/runs' }).length;
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        problems[profile] = err.message;
      }
    }
    return { name, description: spec.description, file, runs, problems, broken: null };
  });
}
