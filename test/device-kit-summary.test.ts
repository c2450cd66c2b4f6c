// The device kit's summary (scripts/device-kit/summary.ts) reads what gpu-figures.sh leaves in its
// output folder: the figures with their targets, a part that timed out, one that never ran, and
// the trainer's per-step times from its step events. The logs here have the shape the kit's
// software run writes (figures.ts FIGURE lines, bench-inrank-speedup's ratio line, trainer events).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function outDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kit-summary-'));
  const w = (name: string, lines: string[]) => writeFileSync(join(dir, name), `${lines.join('\n')}\n`);
  w('run.txt', ['commit abc1234', 'part\ta-fp32-peer\t0\t41', 'part\tc-inrank-speedup\t124\t150', 'part\tf-train\t0\t60', 'total 251 s']);
  w('a-fp32-peer.log', [
    '[webgpu gpt2 fp32] 3 step(s): 900 ms/step',
    'FIGURE {"figure":"step","model":"gpt2","precision":"fp32","msPerStep":900,"tokensPerS":9102.2,"tflops":6.5,"dispatches":310,"adapter":"NVIDIA H200"}',
    'FIGURE {"figure":"peer","model":"gpt2","precision":"fp32","peerTokensPerS":42267,"peerMs":193.8,"torch":"2.11.0","ratio":0.21535}',
  ]);
  w('c-inrank-speedup.log', ['repeat 1: ...', 'step-time ratio (full / InRank) 1.100x, FLOP ratio 1.250x, step-time ratio / FLOP ratio 0.880 (target >= 0.9)']);
  w('f-train.log', [
    '[train] started',
    '{"type":"step","step":1,"epoch":0,"loss":11,"lr":0.0006,"gradNorm":2,"tokensPerSec":800,"trainMs":9000}',
    '{"type":"step","step":2,"epoch":0,"loss":10.9,"lr":0.0006,"gradNorm":2,"tokensPerSec":8000,"trainMs":10000}',
    '{"type":"step","step":3,"epoch":0,"loss":10.8,"lr":0.0006,"gradNorm":2,"tokensPerSec":8000,"trainMs":11200}',
  ]);
  return dir;
}

test('the summary gives each figure with its target, and each part\'s outcome', () => {
  const text = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/device-kit/summary.ts', outDir()], { encoding: 'utf8' });
  const lines = text.trim().split('\n');
  assert.match(lines[0]!, /commit abc1234, adapter NVIDIA H200/);
  assert.match(text, /a \[41 s\] fp32 step .*9102 tokens\/s, 6\.50 TFLOP\/s, 310 dispatches\/step \(gpt2 fp32\); PyTorch 42267 tokens\/s; ratio 0\.215x \(target >= 0\.3x\)/);
  assert.match(text, /c \[TIMED OUT after 150 s\] .*step-time ratio \/ FLOP ratio 0\.880/);
  assert.match(text, /b \[not run\] .*no figure/);
  assert.match(text, /f \[60 s\] .*3 steps; first 9000 ms, later 1100 ms\/step \(per-step ms: 9000, 1000, 1200\)/);
});
