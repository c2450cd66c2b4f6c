// Finding specs: every file in experiments/ whose default export is a defineSweep(...) is a spec,
// named after the file (lm-evaluation-harness style: adding a grid is adding one file).
import { readdirSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError } from '../contract/errors.ts';
import { didYouMean } from './closest.ts';
import { isSweepSpec, withSpecName } from './define.ts';
import { expandSweep } from './expand.ts';
import { profileNames } from './profile.ts';
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

async function importSpec(file: string): Promise<SweepSpec | null> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    // By name, not instanceof: a spec outside the package may load its own copy of config.ts.
    if (err instanceof Error && err.name === 'UserError') throw new UserError(`${file}: ${err.message}`);
    throw err;
  }
  if (!isSweepSpec(mod.default)) return null;
  return withSpecName(mod.default, mod.default.name || basename(file, extname(file)));
}

/** Loads one spec by name (or by a path to a .ts file). Unknown name: UserError with the closest and the list. */
export async function loadSpec(name: string, dir: string = EXPERIMENTS_DIR): Promise<SweepSpec> {
  if (name.endsWith('.ts') || name.includes('/')) {
    const file = resolve(name);
    const spec = await importSpec(file).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') throw new UserError(`spec file not found: ${file}`);
      throw err;
    });
    if (!spec) throw new UserError(`${file}: not a sweep spec (expected \`export default defineSweep({...})\`)`);
    return spec;
  }
  const files = candidateFiles(dir);
  const file = files.find((f) => basename(f, '.ts') === name);
  if (file) {
    const spec = await importSpec(join(dir, file));
    if (spec) return spec;
  }
  // Suggestions skip files that fail to load: the error here is the unknown name.
  const available = (await listSpecFiles(dir, true)).map((s) => s.name);
  throw new UserError(`unknown spec '${name}'${didYouMean(name, available)}; specs: ${available.join(', ')}`);
}

async function listSpecFiles(dir: string, skipBroken = false): Promise<Array<{ name: string; file: string; spec: SweepSpec }>> {
  const out: Array<{ name: string; file: string; spec: SweepSpec }> = [];
  for (const f of candidateFiles(dir)) {
    const file = join(dir, f);
    const spec = await importSpec(file).catch((err: unknown) => {
      if (skipBroken && err instanceof UserError) return null;
      throw err;
    });
    if (spec) out.push({ name: spec.name, file, spec });
  }
  return out;
}

/** Every spec with its description and run count per profile (for `--list`). */
export async function listSpecs(dir: string = EXPERIMENTS_DIR): Promise<SpecSummary[]> {
  const specs = await listSpecFiles(dir);
  return specs.map(({ name, file, spec }) => {
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
    return { name, description: spec.description, file, runs, problems };
  });
}
