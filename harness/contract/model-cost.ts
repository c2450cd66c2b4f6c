// The model-size arithmetic, in one place for the trainer (its reported sizes, stage 1's pruned
// size), the spec (a run's expected cost, to order a sweep) and anyone else: parameter counts
// and FLOPs per token from shapes alone (no tensors), so the paper's presets can be checked
// exactly without allocating them.

export interface ModelShape {
  nEmbd: number;
  nHead: number;
  nLayer: number;
  context: number;
  vocabSize: number;
}

/** Per-block MLP cost at some rank: parameters and multiply-adds per token of fc1 + fc2 together. */
export interface MlpCost {
  params: number;
  macsPerToken: number;
}

/** Dense MLP: fc1 C -> 4C and fc2 4C -> C with biases. */
export function denseMlpCost(nEmbd: number): MlpCost {
  const hidden = 4 * nEmbd;
  return { params: 2 * nEmbd * hidden + hidden + nEmbd, macsPerToken: 2 * nEmbd * hidden };
}

/** One InRank / fixed-rank MLP linear at rank k: A [k x in], B [out x k], bias [out]. */
export function lowRankLinearCost(inFeatures: number, outFeatures: number, rank: number): MlpCost {
  return { params: rank * (inFeatures + outFeatures) + outFeatures, macsPerToken: rank * (inFeatures + outFeatures) };
}

/** One block's low-rank MLP (fc1 C -> 4C at rank r1, fc2 4C -> C at rank r2). */
export function lowRankMlpCost(nEmbd: number, fc1Rank: number, fc2Rank: number): MlpCost {
  const fc1 = lowRankLinearCost(nEmbd, 4 * nEmbd, fc1Rank);
  const fc2 = lowRankLinearCost(4 * nEmbd, nEmbd, fc2Rank);
  return { params: fc1.params + fc2.params, macsPerToken: fc1.macsPerToken + fc2.macsPerToken };
}

/** Everything except the MLP linears: embeddings (tied head counted once), LayerNorms, attention. */
export function nonMlpParams(m: ModelShape): number {
  const c = m.nEmbd;
  const embeddings = m.vocabSize * c + m.context * c;
  const perBlock = 2 * (2 * c) + (c * 3 * c + 3 * c) + (c * c + c);
  return embeddings + m.nLayer * perBlock + 2 * c;
}

/**
 * Total parameters (HF GPT-2 convention: tied LM head counted once). mlp: one cost per block
 * (default dense); pass the actual per-block costs of a low-rank model.
 */
export function paramCounts(m: ModelShape, mlp?: MlpCost[]): { total: number; mlp: number } {
  const blocks = mlp ?? Array.from({ length: m.nLayer }, () => denseMlpCost(m.nEmbd));
  const mlpParams = blocks.reduce((s, b) => s + b.params, 0);
  return { total: nonMlpParams(m) + mlpParams, mlp: mlpParams };
}

/**
 * Training FLOPs per token = 3 x forward (backward is twice the forward); forward = 2 x the
 * multiply-adds of every matmul: attention projections, MLP, attention scores and weighted
 * values over the full context (T x C each per token and layer), and the LM head.
 */
export function trainingFlopsPerToken(m: ModelShape, mlp?: MlpCost[]): number {
  const c = m.nEmbd;
  const blocks = mlp ?? Array.from({ length: m.nLayer }, () => denseMlpCost(m.nEmbd));
  const attn = m.nLayer * (c * 3 * c + c * c + 2 * m.context * c);
  const mlpMacs = blocks.reduce((s, b) => s + b.macsPerToken, 0);
  const head = c * m.vocabSize;
  return 3 * 2 * (attn + mlpMacs + head);
}
