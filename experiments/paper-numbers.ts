// The paper's reported numbers (its README table, WikiText-103 test perplexity), as data the
// report looks up by cell. "smaller" and "faster" are the paper's factors against the full-rank
// fp32 run of the same model.
import { DEFAULT_RUN_CONFIG } from '../harness/contract/stored-config.ts';

/** The paper's threshold where a row names none: the reference default, held once in the run-config schema. */
const DEFAULT_RATIO = DEFAULT_RUN_CONFIG.inrank.explainedRatio;

export type PaperMethod = 'full' | 'fixed' | 'inrank';
export type PaperPrecision = 'fp32' | 'fp16';
export type PaperModel = 'gpt2' | 'gpt2-medium' | 'gpt2-large';

export interface PaperCell {
  model: PaperModel;
  method: PaperMethod;
  precision: PaperPrecision;
  /** InRank's explained-ratio threshold (the schema's default unless the row says otherwise; null for full / fixed). */
  explainedRatio: number | null;
  /** Test perplexity, or 'diverges' where the paper reports that the run diverged. */
  ppl: number | 'diverges';
  /** Parameter reduction factor against full rank fp32 ("1.4x"), where the paper gives one. */
  smaller: number | null;
  /** Training speedup against full rank fp32, where the paper gives one. */
  faster: number | null;
}

const cell = (
  model: PaperModel,
  method: PaperMethod,
  precision: PaperPrecision,
  ppl: number | 'diverges',
  smaller: number | null = null,
  faster: number | null = null,
  explainedRatio: number | null = method === 'inrank' ? DEFAULT_RATIO : null,
): PaperCell => ({ model, method, precision, explainedRatio, ppl, smaller, faster });

export const PAPER_SOURCE = 'InRank: Incremental Low-Rank Learning (Zhao et al., 2023), README table, WikiText-103 test perplexity';

export const paperNumbers: readonly PaperCell[] = [
  cell('gpt2', 'full', 'fp32', 19.3),
  cell('gpt2', 'fixed', 'fp32', 19.7),
  cell('gpt2', 'inrank', 'fp32', 19.6, 1.4, 1.3),
  cell('gpt2-medium', 'full', 'fp32', 20.6),
  cell('gpt2-medium', 'fixed', 'fp32', 20.5),
  cell('gpt2-medium', 'inrank', 'fp32', 20.2, 1.6, 1.6),
  cell('gpt2-large', 'full', 'fp32', 20.9),
  cell('gpt2-large', 'fixed', 'fp32', 20.8),
  cell('gpt2-large', 'inrank', 'fp32', 20.4, 1.7, 1.6),
  cell('gpt2', 'inrank', 'fp32', 20.2, 1.5, 1.3, 0.8),
  cell('gpt2-medium', 'full', 'fp16', 'diverges'),
  cell('gpt2-medium', 'inrank', 'fp16', 20.3, 3.1, 2.2),
  cell('gpt2-large', 'full', 'fp16', 'diverges'),
  cell('gpt2-large', 'inrank', 'fp16', 20.5, 3.5, 2.2),
];

/** A cell's key: "gpt2-medium/inrank/fp16/er0.9"; full and fixed have no ratio part. */
export function paperCellKey(q: { model: string; method: string; precision: string; explainedRatio?: number | null }): string {
  const er = q.method === 'inrank' ? `/er${q.explainedRatio ?? DEFAULT_RATIO}` : '';
  return `${q.model}/${q.method}/${q.precision}${er}`;
}

const byKey = new Map(paperNumbers.map((c) => [paperCellKey(c), c]));

/** The paper's cell for a run, or undefined where the paper has none. */
export function paperCell(q: { model: string; method: string; precision: string; explainedRatio?: number | null }): PaperCell | undefined {
  return byKey.get(paperCellKey(q));
}
