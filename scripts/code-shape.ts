// Prints the shape of the code: the largest source files (lines) and the longest functions
// (lines from the function's first to its last line, nested functions counted on their own
// too), so a refactoring can show its before and after. Uses the TypeScript compiler's parser
// so arrow functions, methods and closures are all found, whatever their formatting.
//
//   npx tsx scripts/code-shape.ts [--top N] [folder ...]     (default: harness experiments scripts)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

interface FunctionShape {
  file: string;
  name: string;
  line: number;
  lines: number;
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listSources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The name a reader would use for a function node: its own, its variable's, its property's. */
function functionName(node: ts.Node, sf: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name) return named.name.getText(sf);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return parent.name.getText(sf);
  }
  if (ts.isCallExpression(parent)) return `<callback of ${parent.expression.getText(sf).slice(0, 40)}>`;
  return '<anonymous>';
}

function functionsOf(file: string, root: string): FunctionShape[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: FunctionShape[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({ file: relative(root, file), name: functionName(node, sf), line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function main(argv: string[]): void {
  const topIndex = argv.indexOf('--top');
  const top = topIndex >= 0 ? Number(argv[topIndex + 1]) : 10;
  const folders = argv.filter((a, i) => !a.startsWith('--') && (topIndex < 0 || i !== topIndex + 1));
  const root = process.cwd();
  const files = (folders.length > 0 ? folders : ['harness', 'experiments', 'scripts']).flatMap((f) => listSources(join(root, f)));

  const sizes = files
    .map((f) => ({ file: relative(root, f), lines: readFileSync(f, 'utf8').split('\n').length }))
    .sort((a, b) => b.lines - a.lines);
  const functions = files.flatMap((f) => functionsOf(f, root)).sort((a, b) => b.lines - a.lines);

  console.log(`${files.length} files, ${sizes.reduce((s, f) => s + f.lines, 0)} lines, ${functions.length} functions`);
  console.log(`functions over 50 lines: ${functions.filter((f) => f.lines > 50).length}`);
  console.log(`\nlargest ${top} files (lines):`);
  for (const f of sizes.slice(0, top)) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}`);
  console.log(`\nlongest ${top} functions (lines):`);
  for (const f of functions.slice(0, top)) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}:${f.line}  ${f.name}`);
}

main(process.argv.slice(2));
