// A plain box-drawn text table, in one pass over the rows. cli-table3 lays a table out in time
// that grows with the square of its rows (8,000 rows took 22 s), so the dry-run view of a big
// grid draws its own: column widths first, then one padded line per row. Cells are one line
// of plain text (no colour codes); the look matches cli-table3's compact style.

export type Align = 'left' | 'right';

function pad(text: string, width: number, align: Align): string {
  return align === 'right' ? text.padStart(width) : text.padEnd(width);
}

function rule(widths: readonly number[], left: string, mid: string, right: string): string {
  return `${left}${widths.map((w) => '─'.repeat(w + 2)).join(mid)}${right}`;
}

/** The table as lines joined by newlines; `aligns` defaults to left for every column. */
export function renderTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>, aligns: readonly Align[] = []): string {
  const widths = head.map((h) => h.length);
  for (const row of rows) {
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (row[i] ?? '').length);
  }
  const line = (cells: readonly string[]): string =>
    `│ ${widths.map((w, i) => pad(cells[i] ?? '', w, aligns[i] ?? 'left')).join(' │ ')} │`;
  const out = [rule(widths, '┌', '┬', '┐'), line(head), rule(widths, '├', '┼', '┤')];
  for (const row of rows) out.push(line(row));
  out.push(rule(widths, '└', '┴', '┘'));
  return out.join('\n');
}
