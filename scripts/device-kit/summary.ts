// The one-screen summary of gpu-figures.sh (bundled into the device kit): reads the FIGURE lines,
// the InRank speed-up line, the trainer's step events (f-train.log) and each part's exit code
// (run.txt) from the output
// folder, and prints each figure next to the issue's target. A part that did not finish says so.
//   node summary.mjs <out-dir>
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2] ?? '.';
const read = (name: string) => (existsSync(join(out, name)) ? readFileSync(join(out, name), 'utf8') : '');
type Fig = Record<string, unknown>;
const figures = (log: string): Fig[] => read(log).split('\n').filter((l) => l.startsWith('FIGURE ')).map((l) => JSON.parse(l.slice(7)) as Fig);
const num = (v: unknown, digits: number) => (typeof v === 'number' ? v.toFixed(digits) : '-');

/** part -> "rc seconds" from run.txt's `part` lines; 124 is a timeout. */
function partStatus(): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of read('run.txt').split('\n').filter((l) => l.startsWith('part\t'))) {
    const [, name, rc, s] = line.split('\t');
    m.set(name!, rc === '0' ? `${s} s` : rc === '124' || rc === '137' ? `TIMED OUT after ${s} s` : rc === 'skipped' ? 'skipped (no time left)' : `exit ${rc} after ${s} s`);
  }
  return m;
}

function stepLine(log: string, target: string): string {
  const f = figures(log);
  const ours = f.find((x) => x.figure === 'step');
  const peer = f.find((x) => x.figure === 'peer');
  if (!ours) return 'no figure';
  const mine = `${num(ours.tokensPerS, 0)} tokens/s, ${num(ours.tflops, 2)} TFLOP/s, ${num(ours.dispatches, 0)} dispatches/step (${ours.model} ${ours.precision})`;
  if (!peer) return mine;
  if (peer.skipped) return `${mine}; peer skipped: ${peer.skipped}`;
  return `${mine}; PyTorch ${num(peer.peerTokensPerS, 0)} tokens/s; ratio ${num(peer.ratio, 3)}x (target ${target})`;
}

function trainLine(): string {
  const steps = read('f-train.log').split('\n').filter((l) => l.startsWith('{') && l.includes('"type":"step"')).map((l) => JSON.parse(l) as { step: number; trainMs: number; tokensPerSec: number });
  if (steps.length === 0) return 'no step event';
  const ms = steps.map((s, i) => s.trainMs - (i ? steps[i - 1]!.trainMs : 0));
  const later = ms.slice(1);
  const mean = later.length ? later.reduce((a, b) => a + b, 0) / later.length : NaN;
  return `${steps.length} steps; first ${ms[0]!.toFixed(0)} ms, later ${Number.isNaN(mean) ? '-' : `${mean.toFixed(0)} ms/step`} (per-step ms: ${ms.map((x) => x.toFixed(0)).join(', ')})`;
}

const status = partStatus();
const head = (part: string, title: string) => `${part[0]} [${status.get(part) ?? 'not run'}] ${title}`;
const prof = figures('d-profile.log').find((x) => x.figure === 'profile');
const lm = figures('e-lm-head.log').find((x) => x.figure === 'lm-head');
const speedup = read('c-inrank-speedup.log').split('\n').find((l) => l.startsWith('step-time ratio')) ?? 'no figure';
const adapter = figures('a-fp32-peer.log').find((x) => x.figure === 'step')?.adapter ?? '-';
console.log(`== GPU figures (${new Date().toISOString().slice(0, 10)}, commit ${/^commit (.*)$/m.exec(read('run.txt'))?.[1] ?? '-'}, adapter ${adapter})`);
console.log(head('a-fp32-peer', `fp32 step vs PyTorch fp32 (TF32 off): ${stepLine('a-fp32-peer.log', '>= 0.3x')}`));
console.log(head('c-inrank-speedup', `InRank stage 2 vs full rank (gpt2-medium's shape on a GPU): ${speedup}`));
console.log(head('b-fp16-peer', `fp16 step vs PyTorch autocast: ${stepLine('b-fp16-peer.log', '>= 0.5x')}`));
console.log(head('d-profile', `profile of one step: ${prof ? `${prof.timing}, ${num(prof.wallMs, 0)} ms, ${prof.dispatches} dispatches; top: ${(prof.top as string[]).join('; ')}` : 'no figure'}`));
console.log(head('e-lm-head', `LM head fused vs materialised: ${lm ? `materialised ${num(lm.materialisedMs, 0)} ms/step, fused ${num(lm.fusedMs, 0)} ms/step, fused/materialised ${num(lm.ratio, 3)}` : 'no figure'}`));
console.log(head('f-train', `trainer, gpu-smoke's gpt2 full-rank run: ${trainLine()}`));
