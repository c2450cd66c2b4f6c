// Builds the optional OpenBLAS addon (native/: matmuls, LAPACK) with node-gyp. Run by `npm install` /
// `npm ci`; it never fails the install: without a compiler, headers or node-gyp, the trainer
// simply keeps the wasm matmul kernels and JavaScript linear algebra, and this prints one line saying so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'native');

/** The node-gyp entry point: the one npm hands to lifecycle scripts, else the copy bundled with npm. */
function findNodeGyp(): string[] | null {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  const bundled = path.resolve(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, bundled];
  const onPath = spawnSync('node-gyp', ['--version'], { stdio: 'ignore' });
  return onPath.status === 0 ? ['node-gyp'] : null;
}

/** Node's own headers next to the running binary: using them avoids node-gyp's header download. */
function localNodeDir(): string | null {
  const prefix = path.resolve(process.execPath, '..', '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function main(): void {
  const nodeGyp = findNodeGyp();
  if (nodeGyp === null) {
    console.log('native OpenBLAS addon: skipped (node-gyp not found); training uses the wasm matmul kernels and JavaScript rank determinations');
    return;
  }
  const nodeDir = localNodeDir();
  const args = [...nodeGyp.slice(1), 'rebuild', '-C', nativeDir, ...(nodeDir ? [`--nodedir=${nodeDir}`] : [])];
  const started = Date.now();
  const result = spawnSync(nodeGyp[0]!, args, { encoding: 'utf8' });
  if (result.status === 0) {
    console.log(`native OpenBLAS addon (matmul, LAPACK): built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return;
  }
  const lines = (result.error?.message ?? result.stderr ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  // node-gyp ends with "gyp ERR! not ok"; the first error line says what actually went wrong.
  const why = lines.find((l) => /error/i.test(l) && !/not ok$/.test(l)) ?? lines.at(-1) ?? `exit ${result.status}`;
  console.log(`native OpenBLAS addon: build failed (${why}); training uses the wasm matmul kernels and JavaScript rank determinations`);
}

main();
