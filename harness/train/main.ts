// The trainer child process: npm run train -- <config.json> [--resume] [--backend NAME]
// stdout carries protocol events only (one JSON object per line); logs go to stderr.
import { readFileSync } from 'node:fs';
import { backendNames, parseRunConfig, type BackendName } from '../contract/config.ts';
import { UserError } from '../contract/errors.ts';
import { EXIT, encodeEvent, type TrainEvent } from '../contract/protocol.ts';
import { train } from './trainer/run.ts';

const USAGE = `usage: npm run train -- <run-config.json> [--resume] [--backend ${backendNames.join('|')}]

Trains one GPT-2 run described by a JSON run config (harness/train/config.ts) and prints
protocol events (harness/train/protocol.ts) on stdout, one per line; logs go to stderr.
  --resume          continue from <outDir>/last.ckpt when it exists
  --backend NAME    force a tfjs backend (overrides the config's backend and INRANK_BACKEND)
Exit codes: ${Object.entries(EXIT).map(([k, v]) => `${v} ${k}`).join(', ')}.`;

interface CliArgs {
  configPath: string;
  resume: boolean;
  backend: BackendName | null;
}

function parseArgs(argv: string[]): CliArgs | 'help' {
  let configPath: string | null = null;
  let resume = false;
  let backend: BackendName | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') return 'help';
    if (a === '--resume') resume = true;
    else if (a === '--backend' || a.startsWith('--backend=')) {
      const v = a.includes('=') ? a.slice('--backend='.length) : argv[++i];
      if (!v || !(backendNames as readonly string[]).includes(v)) throw new UserError(`--backend needs one of ${backendNames.join(', ')} (got ${v ?? 'nothing'})`);
      backend = v as BackendName;
    } else if (a.startsWith('-')) throw new UserError(`unknown option ${a}; see --help`);
    else if (configPath === null) configPath = a;
    else throw new UserError(`one run config expected, got a second argument ${a}`);
  }
  if (configPath === null) throw new UserError('no run config given: npm run train -- <run-config.json> (see --help)');
  return { configPath, resume, backend };
}

function readConfig(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(`cannot read run config ${path}: no such file`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`run config ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** INRANK_BACKEND: what `npm run sweep -- --backend NAME` hands its children (a slot's choice, not the config's). */
function backendFromEnv(): BackendName | null {
  const v = process.env.INRANK_BACKEND?.trim();
  if (!v) return null;
  if (!(backendNames as readonly string[]).includes(v)) throw new UserError(`INRANK_BACKEND=${v}: expected one of ${backendNames.join(', ')}`);
  return v as BackendName;
}

const emit = (event: TrainEvent) => process.stdout.write(`${encodeEvent(event)}\n`);
const log = (line: string) => process.stderr.write(`[train] ${line}\n`);

async function main(): Promise<number> {
  let stop = false;
  const onSignal = (sig: string) => {
    if (stop) return;
    stop = true;
    log(`${sig}: finishing the current step, then writing a checkpoint`);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  try {
    const args = parseArgs(process.argv.slice(2));
    if (args === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    const raw = readConfig(args.configPath);
    const cfg = parseRunConfig(raw);
    if (args.resume) cfg.resume = true;
    const envBackend = backendFromEnv();
    if (args.backend) cfg.backend = args.backend;
    else if (envBackend) cfg.backend = envBackend;
    return await train(cfg, { emit, log, stopRequested: () => stop });
  } catch (err) {
    if (err instanceof UserError) {
      emit({ type: 'error', kind: 'user', message: err.message });
      log(`error: ${err.message}`);
      return EXIT.userError;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    emit({ type: 'error', kind: 'internal', message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
    log(e.stack ?? e.message);
    return EXIT.crashed;
  }
}

// exit only after stdout drained: a piped parent must see every event
main().then((code) => {
  process.stdout.write('', () => process.exit(code));
});
