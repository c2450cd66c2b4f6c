// Which parameters AdamW decays, as the reference's parameter grouping (its
// src/optim/param_grouping.py with bias and normalization decay off): linear weights and the
// low-rank factors decay; biases, LayerNorm weights and the token and position embeddings
// (nn.Embedding, in its no-decay list) do not. train.decayEmbeddings puts wte and wpe back in
// the decay group (this harness's behaviour before it followed the reference).
import type { NamedParam } from '../model/gpt.ts';

/** The embedding parameters by full name (the tied LM head is wte itself). */
export const EMBEDDING_PARAMS: ReadonlySet<string> = new Set(['wte', 'wpe']);

/** The model's parameters with the embeddings' decay set by the run's choice. */
export function withEmbeddingDecay(params: NamedParam[], decayEmbeddings: boolean): NamedParam[] {
  return params.map((p) => (EMBEDDING_PARAMS.has(p.fullName) ? { ...p, decay: decayEmbeddings } : p));
}
