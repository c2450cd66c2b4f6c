// A child process that asks Dawn for its WebGPU adapter and prints what it found as one JSON
// line, then exits. The harness runs it (harness/schedule/webgpu-probe.ts) to list devices and
// to decide whether webgpu counts as a GPU backend, without loading Dawn into its own process.
// With the pinning environment of a slot it shows which GPU that slot's children get.
import { probeAdapter } from './webgpu.ts';

const probe = await probeAdapter();
process.stdout.write(`${JSON.stringify('reason' in probe ? { ok: false, reason: probe.reason } : { ok: true, adapter: probe.info })}\n`);
// Dawn keeps an event loop handle alive; the answer is out, so leave.
process.stdout.write('', () => process.exit(0));
