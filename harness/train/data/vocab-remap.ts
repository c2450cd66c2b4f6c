// Optional smaller vocabulary (data.vocabTopK = K), a deviation from the reference for small
// CPU runs where a 50257-row embedding would dominate the model: keep the K-1 most frequent
// training ids, renumbered by frequency rank, and send every other id to one unknown id K-1.
import { UserError } from '../../contract/errors.ts';
import { allocateIds, type TokenIds } from './token-buffer.ts';

export interface VocabRemap {
  vocabSize: number;
  unknownId: number;
  /** newIdOf[oldId]: the id in the reduced vocabulary. */
  newIdOf: Int32Array;
  /** keptIds[newId]: the original id behind each kept id (length vocabSize - 1 at most). */
  keptIds: Int32Array;
}

/**
 * Frequencies come from the training split only (valid / test must not steer the vocabulary);
 * ties go to the lower original id, and ids that never occur in training are never kept.
 */
export function buildVocabRemap(train: ArrayLike<number>, sourceVocabSize: number, topK: number): VocabRemap {
  if (!Number.isInteger(topK) || topK < 2) {
    throw new UserError(`data.vocabTopK must be an integer of at least 2 (K-1 kept tokens plus the unknown id), got ${topK}; use null for the full vocabulary`);
  }
  if (topK > sourceVocabSize) {
    throw new UserError(`data.vocabTopK (${topK}) is larger than the tokenizer's vocabulary (${sourceVocabSize}); use null for the full vocabulary`);
  }
  const counts = new Float64Array(sourceVocabSize);
  for (let i = 0; i < train.length; i++) counts[train[i]!]!++;
  const seen: number[] = [];
  for (let id = 0; id < sourceVocabSize; id++) if (counts[id]! > 0) seen.push(id);
  seen.sort((a, b) => counts[b]! - counts[a]! || a - b);

  const unknownId = topK - 1;
  const keptIds = Int32Array.from(seen.slice(0, topK - 1));
  const newIdOf = new Int32Array(sourceVocabSize).fill(unknownId);
  keptIds.forEach((oldId, rank) => (newIdOf[oldId] = rank));
  return { vocabSize: topK, unknownId, newIdOf, keptIds };
}

export function applyVocabRemap(ids: TokenIds, remap: VocabRemap): TokenIds {
  const out = allocateIds(remap.vocabSize, ids.length);
  const table = remap.newIdOf;
  for (let i = 0; i < ids.length; i++) out[i] = table[ids[i]!]!;
  return out;
}

/** Fraction of `ids` that are the unknown id: how much the reduced vocabulary loses. */
export function unknownFraction(ids: TokenIds, unknownId: number): number {
  let unknown = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i] === unknownId) unknown++;
  return ids.length ? unknown / ids.length : 0;
}
