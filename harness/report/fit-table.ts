// A terminal table that fits the terminal: no rule between rows; the wrapping columns (status,
// reason) narrow first, then the least needed columns are left out, in a given order, and the
// caller says which. Off a terminal (width null) every column stays.
import Table from 'cli-table3';

export interface FitSpec {
  /** The terminal's width in characters; null = no limit. */
  width: number | null;
  /** Columns that may be left out, the first to go first. */
  dropOrder: string[];
  /** Columns whose text wraps onto more lines: their widths, at most. */
  wrap: Record<string, number>;
}

export interface Fitted {
  text: string;
  /** Columns left out to fit. */
  dropped: string[];
}

/** Display width: one cell per code point (the table holds no wide characters). */
const len = (s: string): number => Math.max(0, ...s.split('\n').map((l) => [...l].length));
/** The narrowest a wrapping column gets. */
const MIN_WRAP = 14;

function widths(head: string[], rows: string[][], keep: number[], spec: FitSpec): number[] {
  return keep.map((i) => {
    const natural = Math.max(len(head[i]!), ...rows.map((r) => len(r[i] ?? ''))) + 2;
    const cap = spec.wrap[head[i]!];
    return cap === undefined ? natural : Math.min(natural, cap + 2);
  });
}

/** Which columns to keep and how wide each is, for the width given. */
function layout(head: string[], rows: string[][], spec: FitSpec): { keep: number[]; colWidths: number[] } {
  let keep = head.map((_, i) => i);
  const drops = spec.dropOrder.filter((h) => head.includes(h));
  for (;;) {
    const colWidths = widths(head, rows, keep, spec);
    const total = colWidths.reduce((a, b) => a + b, 0) + keep.length + 1;
    if (spec.width === null || total <= spec.width) return { keep, colWidths };
    // Narrow the wrapping columns as far as needed, down to MIN_WRAP.
    let excess = total - spec.width;
    keep.forEach((i, k) => {
      if (excess <= 0 || spec.wrap[head[i]!] === undefined) return;
      const give = Math.max(0, Math.min(excess, colWidths[k]! - (MIN_WRAP + 2)));
      colWidths[k] -= give;
      excess -= give;
    });
    if (excess <= 0 || drops.length === 0) return { keep, colWidths };
    const gone = head.indexOf(drops.shift()!);
    keep = keep.filter((i) => i !== gone);
  }
}

export function fitTable(head: string[], rows: string[][], spec: FitSpec): Fitted {
  const { keep, colWidths } = layout(head, rows, spec);
  const table = new Table({
    head: keep.map((i) => head[i]!),
    style: { head: [], border: [], compact: true },
    colWidths,
    wordWrap: true,
    wrapOnWordBoundary: true,
  });
  for (const r of rows) table.push(keep.map((i) => r[i] ?? ''));
  const dropped = head.filter((_, i) => !keep.includes(i));
  return { text: table.toString(), dropped };
}

/** The line under a table that left columns out. */
export function droppedNote(dropped: string[], width: number | null, fullView: string): string {
  return dropped.length ? `(left out to fit ${width} columns: ${dropped.join(', ')}; ${fullView} shows every column)` : '';
}
