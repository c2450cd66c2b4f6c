// npx tsx scripts/bench-slots.ts [--filter key=value ...] [--spec NAME] [--profile NAME] [--keep]
// On a CPU machine, which finishes a fixed set of runs sooner: two runs at a time with one
// OpenBLAS thread each (--devices 2), or one run at a time with two threads (--devices 1)?
// (harness/schedule/devices.ts gives each CPU slot floor(cores / slots) BLAS threads.)
// Both are measured in the same invocation through the real CLI (npm run sweep), each into a
// fresh database and run folder, and the wall-clock times are printed with their ratio. The
// default subset, gpt2 with methods full and fixed and both seeds of the cpu paper-table, is
// four runs of the table's most common kind (dense and low-rank linears, one model size).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseCliArgs, runCli } from '../harness/cli/common.ts';
import { REPO_ROOT } from '../harness/schedule/repo-root.ts';

interface Args {
  spec: string;
  profile: string;
  filters: string[];
  keep: boolean;
}

const DEFAULT_FILTERS = ['model=gpt2', 'method=full,fixed'];

const USAGE = 'usage: npx tsx scripts/bench-slots.ts [--spec paper-table] [--profile cpu] [--filter key=value ...] [--keep]';

function parseSlotArgs(argv: string[]): Args | null {
  const { values: v } = parseCliArgs(argv, {
    spec: { type: 'string', default: 'paper-table' },
    profile: { type: 'string', default: 'cpu' },
    filter: { type: 'string', multiple: true, default: [] },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  } as const, 'npx tsx scripts/bench-slots.ts --help');
  if (v.help) return null;
  return { spec: v.spec, profile: v.profile, filters: v.filter.length ? v.filter : DEFAULT_FILTERS, keep: v.keep };
}

/** Runs one sweep through npm; returns its wall time and the lines that say how it went. */
function runSweep(args: Args, devices: string, dir: string): Promise<{ seconds: number; lines: string[] }> {
  const cliArgs = [
    'run', '--silent', 'sweep', '--', args.spec, '--profile', args.profile,
    ...args.filters.flatMap((f) => ['--filter', f]),
    '--db', path.join(dir, 'results.db'), '--out', path.join(dir, 'runs'), '--devices', devices, '--retries', '0',
  ];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('npm', cliArgs, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const lines = out.split(/\r|\n/).map((l) => l.trim()).filter(Boolean);
      if (code !== 0) reject(new Error(`npm run sweep --devices ${devices} exited with ${code}:\n${lines.slice(-15).join('\n')}`));
      else resolve({ seconds, lines });
    });
  });
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(argv: string[]): Promise<number> {
  const args = parseSlotArgs(argv);
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  const cores = availableParallelism();
  console.log(`${cores} cores; subset: ${args.spec} --profile ${args.profile} ${args.filters.map((f) => `--filter ${f}`).join(' ')}`);
  console.log(`load average before: ${load()}`);
  const times = new Map<string, number>();
  for (const devices of ['2', '1']) {
    const dir = mkdtempSync(path.join(tmpdir(), `bench-slots-${devices}-`));
    try {
      const { seconds, lines } = await runSweep(args, devices, dir);
      times.set(devices, seconds);
      for (const line of lines.filter((l) => /^devices:|^sweep .* (finished|interrupted)|matmul|openblas/i.test(l)).slice(0, 4)) console.log(`  ${line}`);
      console.log(`--devices ${devices}: ${seconds.toFixed(1)} s wall-clock (load average after: ${load()})`);
    } finally {
      if (!args.keep) rmSync(dir, { recursive: true, force: true });
      else console.log(`  kept ${dir}`);
    }
  }
  const two = times.get('2')!;
  const one = times.get('1')!;
  console.log('');
  console.log(`2 slots x ${Math.max(1, Math.floor(cores / 2))} thread(s): ${two.toFixed(1)} s`);
  console.log(`1 slot  x ${cores} thread(s): ${one.toFixed(1)} s`);
  console.log(`ratio (1 slot / 2 slots): ${(one / two).toFixed(2)}; faster: ${two <= one ? '2 slots with one thread each' : '1 slot with all threads'}`);
  return 0;
}

runCli(main);
