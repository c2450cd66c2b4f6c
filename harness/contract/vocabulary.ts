// The vocabulary a run's data has, known from its config alone: GPT-2's BPE, or data.vocabTopK
// when the vocabulary is reduced. The sweep compares it with model.vocabSize while planning, so
// a mismatch is one line before anything is stored, not a failure in every run.
export const GPT2_VOCAB_SIZE = 50257;

/** The token count of the vocabulary the trainer will build for `vocabTopK`. */
export function dataVocabSize(vocabTopK: number | null): number {
  return vocabTopK ?? GPT2_VOCAB_SIZE;
}
