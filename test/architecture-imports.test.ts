// The harness's import rules, checked on every `npm test`:
//   train/ imports nothing outside train/ except contract/ (the trainer is its own process);
//   store/ and report/ import neither train/ nor schedule/ (they know only data);
//   spec/ imports neither store/ nor schedule/ (a spec is data, wherever it runs).
// Imports are found with the TypeScript parser: `import ... from`, `export ... from`,
// `import type`, side-effect imports and `import('...')` with a literal. A test of the checker
// itself plants a bad import, so a checker that finds nothing cannot pass.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HARNESS = join(ROOT, 'harness');

/** [from folder, forbidden target folders, allowed exceptions] relative to harness/. '*' = anything outside harness/<from>. */
const RULES: { from: string; forbidden: string[] | '*'; except?: string[] }[] = [
  { from: 'train', forbidden: '*', except: ['contract'] },
  { from: 'store', forbidden: ['train', 'schedule'] },
  { from: 'report', forbidden: ['train', 'schedule'] },
  { from: 'spec', forbidden: ['store', 'schedule'] },
];

/** Every module specifier a source file imports, by the parser (not by regular expression). */
export function importsOf(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) found.push(arg.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expr = node.moduleReference.expression;
      if (ts.isStringLiteral(expr)) found.push(expr.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The harness folder a path lies in ('train', 'spec', ...), '' for harness/ itself, null outside harness/. */
function harnessFolderOf(path: string): string | null {
  const rel = relative(HARNESS, path);
  if (rel.startsWith('..') || rel === '') return null;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0]! : '';
}

/** The rule broken by `file` importing `specifier`, as a line, or null. Packages (bare names) are always allowed. */
export function violation(file: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const from = harnessFolderOf(file);
  const target = resolve(dirname(file), specifier);
  const to = harnessFolderOf(target);
  for (const rule of RULES) {
    if (rule.from !== from || to === from) continue;
    const outside = to === null ? relative(ROOT, target) : `harness/${to}`;
    const allowed = rule.except?.includes(to ?? '') ?? false;
    const forbidden = rule.forbidden === '*' ? !allowed : to !== null && rule.forbidden.includes(to);
    if (forbidden) return `${relative(ROOT, file)} imports ${specifier} (${outside}): harness/${from}/ may not import it`;
  }
  return null;
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourcesUnder(path);
    return /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

export function violationsIn(files: { path: string; text: string }[]): string[] {
  return files.flatMap(({ path, text }) => importsOf(path, text).flatMap((s) => violation(path, s) ?? []));
}

test('the import checker finds every kind of import and flags a planted bad one', () => {
  const text = [
    "import { GPT } from '../model/gpt.ts';",
    "import type { Store } from '../../store/store.ts';",
    "export { runSweep } from '../../schedule/run-sweep.ts';",
    "import '../../report/report.ts';",
    "const later = await import('../../spec/expand.ts');",
    "import { z } from 'zod';",
    "import { UserError } from '../../contract/errors.ts';",
    "const url = new URL('../../cli/sweep.ts', import.meta.url);",
  ].join('\n');
  const planted = join(HARNESS, 'train', 'trainer', 'planted.ts');
  assert.deepEqual(importsOf(planted, text), [
    '../model/gpt.ts', '../../store/store.ts', '../../schedule/run-sweep.ts', '../../report/report.ts',
    '../../spec/expand.ts', 'zod', '../../contract/errors.ts',
  ]);
  const found = violationsIn([{ path: planted, text }]);
  assert.equal(found.length, 4, found.join('\n'));
  for (const bad of ['store/store.ts', 'schedule/run-sweep.ts', 'report/report.ts', 'spec/expand.ts']) {
    assert.ok(found.some((line) => line.includes(bad)), `flags ${bad}`);
  }
  // The other rules, one planted import each; allowed imports stay quiet.
  assert.ok(violation(join(HARNESS, 'store', 'x.ts'), '../train/checkpoint.ts'));
  assert.ok(violation(join(HARNESS, 'report', 'x.ts'), '../schedule/executors.ts'));
  assert.ok(violation(join(HARNESS, 'spec', 'x.ts'), '../store/store.ts'));
  assert.ok(violation(join(HARNESS, 'spec', 'x.ts'), '../schedule/devices.ts'));
  assert.ok(violation(join(HARNESS, 'train', 'x.ts'), '../../experiments/profiles.ts'));
  assert.equal(violation(join(HARNESS, 'report', 'x.ts'), '../store/sweep-read.ts'), null);
  assert.equal(violation(join(HARNESS, 'spec', 'x.ts'), '../contract/config.ts'), null);
  assert.equal(violation(join(HARNESS, 'cli', 'x.ts'), '../train/main.ts'), null);
});

test('the harness keeps its import rules', () => {
  const files = sourcesUnder(HARNESS).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
  assert.ok(files.length > 50, `found the harness's sources (${files.length})`);
  assert.deepEqual(violationsIn(files), []);
});
