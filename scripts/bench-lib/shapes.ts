// The benchmark models' shapes, shared by `npm run bench` (bench-device.ts, bench.ts), the WebGPU
// kernel comparison and the device kit: the bench shape the CPU targets use, a tiny one for quick
// checks on a software driver, and the GPT-2 124M at context 1024.
import type { ModelConfig } from '../../harness/contract/config.ts';
import type { PeerShape } from './peer.ts';

export type BenchModel = 'bench' | 'gpt2' | 'tiny';

export interface BenchShape {
  model: Pick<ModelConfig, 'nEmbd' | 'nHead' | 'nLayer' | 'context' | 'vocabSize'>;
  /** Micro-batch. */
  batch: number;
  label: string;
}

export const BENCH_SHAPES: Record<BenchModel, BenchShape> = {
  bench: { model: { nEmbd: 256, nHead: 4, nLayer: 4, context: 128, vocabSize: 4096 }, batch: 8, label: 'n_embd 256, 4 layers, 4 heads, context 128, micro-batch 8, vocab 4096' },
  tiny: { model: { nEmbd: 64, nHead: 2, nLayer: 2, context: 32, vocabSize: 512 }, batch: 2, label: 'tiny: n_embd 64, 2 layers, 2 heads, context 32, micro-batch 2, vocab 512' },
  gpt2: { model: { nEmbd: 768, nHead: 12, nLayer: 12, context: 1024, vocabSize: 50257 }, batch: 8, label: 'GPT-2 124M: n_embd 768, 12 layers, 12 heads, context 1024, micro-batch 8, vocab 50257' },
};

/** The same shape as the PyTorch peer (scripts/bench-peer.py) takes it. */
export function peerShapeOf(s: BenchShape): PeerShape {
  const { nEmbd, nHead, nLayer, context, vocabSize } = s.model;
  return { nEmbd, nHead, nLayer, context, batch: s.batch, vocab: vocabSize };
}
