// The fused LM head + cross-entropy (backend/webgpu-kernels/lmhead-*.ts, INRANK_LM_HEAD=fused) against the materialised
// head (logits [N, V], then the WGSL softmax cross-entropy keeping the probabilities [N, V]) on the
// same webgpu device, in one run: a small GPT-2 trained a few steps each way, in fp32 and (with
// shader-f16) in fp16 native, every other
// WGSL kernel on in both. Prints the bytes a forward holds for backward (tf.memory().numBytes
// after forward, less before), the GPU dispatches per step, and the largest relative
// differences of the losses and first-step gradients.
//   npx tsx scripts/lmhead-memory.ts [--steps N] [--embd C] [--context T] [--vocab V]
// Runs on any WebGPU adapter (Mesa's lavapipe included); speed is not measured.
import { parseArgs } from 'node:util';
import { parseRunConfig, type RunConfig } from '../harness/contract/config.ts';
import type { Precision } from '../harness/train/model/linear.ts';
import { fp16NativeOnDevice, nativeHalfReady } from '../harness/train/precision/half-storage.ts';
import { selectBackend } from '../harness/train/backend/select.ts';
import { fp32 } from '../harness/train/precision/index.ts';
import { compareTraces, traceFp16 } from './fp16-paths.ts';

/** Traces with the fused LM head, then without (every other kernel on), and prints the comparison. */
async function compare(label: string, cfg: RunConfig, precision: Precision, steps: number): Promise<void> {
  process.env.INRANK_LM_HEAD = 'fused';
  const fused = await traceFp16(cfg, precision, steps);
  process.env.INRANK_LM_HEAD = 'materialised';
  const unfused = await traceFp16(cfg, precision, steps);
  const d = compareTraces(unfused, fused);
  const n = 2 * cfg.model.context;
  console.log(`${label}:`);
  console.log(`  bytes held by a forward for backward: materialised head ${unfused.bytesHeld}, fused ${fused.bytesHeld} (fused/materialised ${(fused.bytesHeld / unfused.bytesHeld).toFixed(3)}; one [N, V] float32 tensor is ${4 * n * cfg.model.vocabSize})`);
  console.log(`  dispatches per step: materialised head ${unfused.dispatchesPerStep}, fused ${fused.dispatchesPerStep}`);
  console.log(`  losses per step: materialised ${unfused.losses.join(', ')}; fused ${fused.losses.join(', ')}`);
  console.log(`  fused vs materialised, largest relative difference: loss ${d.loss.toExponential(2)}, first-step gradient ${d.grad.toExponential(2)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    steps: { type: 'string', default: '2' }, embd: { type: 'string', default: '64' },
    context: { type: 'string', default: '64' }, vocab: { type: 'string', default: '4096' },
  } });
  const cfg = parseRunConfig({
    method: 'full',
    model: { nEmbd: Number(values.embd), nHead: 4, nLayer: 2, context: Number(values.context), vocabSize: Number(values.vocab), dropout: 0.1 },
    precision: { kind: 'fp32' },
  });
  const selected = await selectBackend('webgpu');
  const m = cfg.model;
  console.log(`dense GPT-2 (n_embd ${m.nEmbd}, ${m.nLayer} layers, context ${m.context}, batch 2: N ${2 * m.context} tokens, vocab ${m.vocabSize}), ${values.steps} steps of 2 micro-batches, webgpu on ${selected.adapter?.device} [${selected.adapter?.description}]`);
  // traceFp16 runs the trainer's micro-batch loop (with loss scaling) at any precision.
  await compare('fp32', cfg, fp32, Number(values.steps));
  if (nativeHalfReady()) await compare('fp16 native (packed halves)', cfg, fp16NativeOnDevice, Number(values.steps));
  else console.log('fp16 native: not on this device (no shader-f16)');
}

await main();
