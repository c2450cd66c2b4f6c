// `npm run bench -- --peer`: the trainer's step and PyTorch's (scripts/bench-peer.py) on the bench
// shape at the same thread count, in alternating rounds (one PyTorch process, then one repeat of
// ours, and so on), so that a change in the machine's load falls on both alike. Prints each
// round's ratio and the best of each side; the figure is the ratio of the bests.
import { modelSchema } from '../../harness/contract/config.ts';
import { UserError } from '../../harness/contract/errors.ts';
import { selectBackend } from '../../harness/train/backend/select.ts';
import { blasThreads, NATIVE_MATMUL_ENV, setBlasThreads } from '../../harness/train/backend/blas.ts';
import { denseFactory } from '../../harness/train/model/linears.ts';
import { makeStepper, timeSteps } from './train-step.ts';
import { peerUnavailable, printPeerComparison, runPeer, type PeerResult, type PeerShape } from './peer.ts';

export interface PeerCompareOptions {
  shape: PeerShape;
  /** The matmul path to measure: openblas when the addon loads (null), or the one named. */
  path: 'wasm' | 'openblas' | null;
  threads: number | null;
  steps: number;
  rounds: number;
  fp16: boolean;
}

export async function comparePeerInterleaved(o: PeerCompareOptions): Promise<void> {
  const missing = peerUnavailable();
  if (missing !== null) {
    console.log(`PyTorch peer not measured: ${missing}`);
    return;
  }
  if (o.path === 'wasm') process.env[NATIVE_MATMUL_ENV] = '0';
  if (o.threads !== null) process.env.OPENBLAS_NUM_THREADS = String(o.threads); // read when OpenBLAS opens
  const selected = await selectBackend('wasm');
  if (o.path === 'openblas' && selected.matmul !== 'openblas') {
    throw new UserError(`the openblas matmul path did not start (${selected.note}); build the addon with \`npm run install\``);
  }
  if (selected.matmul === 'openblas' && o.threads !== null) setBlasThreads(o.threads);
  // The wasm kernels run on one thread; OpenBLAS on its own count. PyTorch gets the same.
  const threads = selected.matmul === 'openblas' ? blasThreads() : 1;
  console.log(`trainer: backend ${selected.backend}, matmul path ${selected.matmul}, ${threads} thread(s)${selected.note ? ` (${selected.note})` : ''}${o.fp16 ? ', fp16 emulated (the peer runs fp32)' : ''}`);
  const cfg = modelSchema.parse({ name: 'bench', nEmbd: o.shape.nEmbd, nHead: o.shape.nHead, nLayer: o.shape.nLayer, context: o.shape.context, vocabSize: o.shape.vocab });
  const ours = makeStepper(cfg, o.shape.batch, denseFactory(), o.fp16);
  try {
    ours.step(); // warm-up: kernel set-up and heap growth
    let bestOurs = Infinity;
    let bestPeer: PeerResult | null = null;
    for (let r = 0; r < o.rounds; r++) {
      const peer = runPeer(o.shape, threads, { steps: o.steps, repeats: 1 });
      const mine = timeSteps(ours, o.steps).step;
      console.log(`round ${r + 1}: pytorch ${peer.stepMs.toFixed(0)} ms/step, ours ${mine.toFixed(0)} ms/step, ours / pytorch speed ${(peer.stepMs / mine).toFixed(2)}x`);
      bestOurs = Math.min(bestOurs, mine);
      if (bestPeer === null || peer.stepMs < bestPeer.stepMs) bestPeer = peer;
    }
    const tokensPerS = ours.tokens / (bestOurs / 1000);
    printPeerComparison({ label: selected.matmul, tokensPerS, params: ours.model.paramCounts().total }, bestPeer!);
  } finally {
    ours.dispose();
  }
}
