// The paper's reference numbers for a table cell. The numbers themselves live as data in
// experiments/paper-numbers.ts; this file only looks a cell up there.
import { paperCell } from '../../experiments/paper-numbers.ts';

export interface PaperCell {
  /** WikiText-103 test perplexity, or 'diverges' where the paper reports the run diverging. */
  ppl: number | 'diverges' | null;
  /** The paper's "x smaller" and "x faster" against full rank, where it gives them. */
  smaller: number | null;
  faster: number | null;
}

export interface CellQuery {
  model: string;
  method: string;
  precision: string;
  /** InRank's explained-ratio threshold; null for other methods. */
  explainedRatio: number | null;
}

export type PaperLookup = (cell: CellQuery) => PaperCell | null;

/** The lookup the report uses by default: the cells of experiments/paper-numbers.ts. */
export const paperNumbers: PaperLookup = (q) => {
  const cell = paperCell(q);
  return cell ? { ppl: cell.ppl, smaller: cell.smaller, faster: cell.faster } : null;
};
