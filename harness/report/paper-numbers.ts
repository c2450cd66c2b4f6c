// The paper's numbers as the report looks them up: the data lives in experiments/paper-numbers.ts.
import { paperCell } from '../../experiments/paper-numbers.ts';
import type { PaperLookup } from './paper.ts';

export const paperNumbers: PaperLookup = (q) => {
  const cell = paperCell(q);
  return cell ? { ppl: cell.ppl, smaller: cell.smaller, faster: cell.faster } : null;
};
