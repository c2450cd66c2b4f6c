// A broken spec file in the experiments folder (issue 19, item 7), through the real CLI: asked
// for, it is one line `file:line: message` and exit 2; --list shows it as broken; every other
// spec in the folder still lists, dry-runs and runs.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO, runCliSync, writeSpec } from './fixtures/harness-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'fault-specs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const specs = join(dir, 'specs');
const define = JSON.stringify(join(REPO, 'harness', 'spec', 'define.ts'));
writeSpec(specs, 'good', `{ description: 'a spec that works', axes: { method: ['full'] } }`);
const broken: Array<{ name: string; source: string; line: number; says: RegExp }> = [
  { name: 'syntax', source: `import { defineSweep } from ${define};\n\nexport default defineSweep({ description: 'x', axes: {} }}\n`, line: 3, says: /syntax error: Expected "\)" but found "\}"/ },
  { name: 'throws', source: `// a spec that throws while it is imported\nconst size = 3;\nthrow new Error('no grid of size ' + size);\n`, line: 3, says: /no grid of size 3/ },
  { name: 'missing-import', source: `import { defineSweep } from ${define};\nimport { grid } from './no-such-helper.ts';\nexport default defineSweep(grid);\n`, line: 2, says: /Cannot find module .*no-such-helper\.ts/ },
  { name: 'bad-key', source: `import { defineSweep } from ${define};\n\nexport default defineSweep({ description: 'x', axes: { 'train.lrr': [1e-3] } });\n`, line: 3, says: /axes\.train\.lrr: unknown axis or setting \(did you mean 'train\.lr'\?\)/ },
  { name: 'bad-export', source: `export default { description: 'not made with defineSweep', axes: {} };\n`, line: 0, says: /default export is not a sweep spec/ },
];
for (const b of broken) writeFileSync(join(specs, `${b.name}.ts`), b.source);
// A helper module (no default export) is neither a spec nor broken.
writeFileSync(join(specs, 'shared.ts'), 'export const lrs = [1e-3, 3e-3];\n');
writeFileSync(join(specs, 'empty.ts'), '');

const where = (b: (typeof broken)[number]): string => `${join(specs, `${b.name}.ts`)}${b.line ? `:${b.line}` : ''}: `;

test('--list shows each broken spec with its file:line and still lists the good one', () => {
  const r = runCliSync('sweep', ['--list', '--specs-dir', specs]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /│ good +│ 1 /);
  for (const b of broken) {
    const row = r.stdout.split('\n').find((l) => l.includes(`│ ${b.name} `));
    assert.ok(row?.includes(`BROKEN: ${where(b)}`), `${b.name}: ${row}`);
    assert.match(row!, b.says);
  }
  assert.doesNotMatch(r.stdout, /│ (shared|empty) /);
  assert.match(r.stdout, /6 spec\(s\), 5 broken/);
});

test('another spec dry-runs while broken ones sit beside it', () => {
  const db = join(dir, 'dry.db');
  const r = runCliSync('sweep', ['good', '--specs-dir', specs, '--profile', 'smoke', '--dry-run', '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /1 runs \(profile smoke\): 1 full/);
  assert.ok(!existsSync(db), 'a dry run stores nothing');
});

for (const b of broken) {
  test(`asking for the broken spec '${b.name}': one line file:line: message, exit 2`, () => {
    const db = join(dir, `${b.name}.db`);
    const r = runCliSync('sweep', [b.name, '--specs-dir', specs, '--profile', 'smoke', '--db', db]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.startsWith(`error: ${where(b)}`), r.stderr);
    assert.match(r.stderr, /^[^\n]*\n$/, 'exactly one line');
    assert.match(r.stderr, b.says);
    assert.ok(!existsSync(db), 'nothing stored');
  });
}

test('an unknown name with broken specs present: one line suggesting the good ones', () => {
  const r = runCliSync('sweep', ['goood', '--specs-dir', specs, '--profile', 'smoke']);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, "error: unknown spec 'goood' (did you mean 'good'?); specs: good\n");
});
