// Renders a comparison table as text: the terminal (cli-table3), Markdown, CSV or JSON.
// Terminal and Markdown are for reading (labels, mean +- std in one cell); CSV and JSON are
// for tools (one number per column, the reason beside it when there is none).
import { droppedNote, fitTable } from './fit-table.ts';
import type { ComparisonBlock, ComparisonRow, ComparisonTable, Figure } from './table.ts';
import type { PaperCell } from './paper.ts';

export const FORMATS = ['terminal', 'md', 'csv', 'json'] as const;
export type Format = (typeof FORMATS)[number];

/** How wide the terminal is (process.stdout.columns); null or absent: no limit. */
export interface FitOptions {
  width: number | null;
}

/** Columns the terminal table leaves out first when it does not fit, in order. */
const DROP_ORDER = ['steps', 'FLOP speedup', 'rank % of max', 'x smaller', 'precision', 'paper ppl', 'params', 'x faster', 'status'];

const METHOD_LABELS: Record<string, string> = { full: 'full rank', fixed: 'fixed rank', inrank: 'InRank' };
export const methodLabel = (m: string): string => METHOD_LABELS[m] ?? m;

export function formatCount(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(Math.round(n));
}

/** One figure for reading: "19.62 +- 0.05", "1.41x", or the words saying why there is none. */
export function formatFigure(f: Figure, digits: number, unit = '', asCount = false): string {
  if (f.kind === 'missing') return f.note;
  const num = (x: number): string => (asCount ? formatCount(x) : x.toFixed(digits));
  let text = `${num(f.mean)}${unit}`;
  // A spread of exactly zero (parameters, steps of identical runs) says nothing: leave it out.
  if (f.std !== null && f.std !== 0) text += ` ± ${num(f.std)}${unit}`;
  if (f.n < f.of) text += ` (${f.n}/${f.of} seeds${f.note ? `; ${f.note}` : ''})`;
  return text;
}

export function formatPaperPpl(p: PaperCell | null): string {
  if (!p || p.ppl === null) return '-';
  return p.ppl === 'diverges' ? 'diverges' : p.ppl.toFixed(1);
}

export function axisValueText(row: ComparisonRow, axis: string): string {
  return axis in row.axes ? String(row.axes[axis]) : '-';
}

export function blockHeaders(block: ComparisonBlock): string[] {
  return [
    'model', 'method', 'precision', ...block.axisNames,
    'test ppl', 'paper ppl', 'params', 'x smaller', 'x faster', 'FLOP speedup', 'rank % of max', 'steps', 'status',
  ];
}

/** The readable cells of one row, in blockHeaders order. */
export function rowCells(block: ComparisonBlock, row: ComparisonRow): string[] {
  return [
    row.model,
    methodLabel(row.method),
    row.precision,
    ...block.axisNames.map((a) => axisValueText(row, a)),
    formatFigure(row.testPpl, 2),
    formatPaperPpl(row.paper),
    formatFigure(row.params, 0, '', true),
    formatFigure(row.smaller, 2, 'x'),
    formatFigure(row.faster, 2, 'x'),
    formatFigure(row.flopSpeedup, 2, 'x'),
    formatFigure(row.rankPct, 1, '%'),
    formatFigure(row.steps, 0),
    row.status,
  ];
}

export function sweepTitle(t: ComparisonTable): string {
  const one = (s: ComparisonTable['sweep']): string => `sweep ${s.id} (${s.spec}, ${s.status}, started ${s.createdAt})`;
  const all = t.sweeps ?? [t.sweep];
  return all.length > 1 ? `sweeps ${all.map((s) => `${s.id} (${s.spec}, ${s.status})`).join(' + ')}` : one(t.sweep);
}

/** The sweeps' notes, one line each (none when no sweep has one). */
export function noteLines(t: ComparisonTable): string[] {
  return (t.sweeps ?? [t.sweep]).filter((s) => s.note).map((s) => `note (sweep ${s.id}): ${s.note}`);
}

function terminal(t: ComparisonTable, fit: FitOptions): string {
  const parts = [[sweepTitle(t), ...noteLines(t)].join('\n')];
  if (t.blocks.length === 0) parts.push('no runs in this sweep');
  for (const block of t.blocks) {
    // A setting's last name is enough on a terminal (explainedRatio), unless two settings share it.
    const lastNames = block.axisNames.map((a) => a.split('.').pop()!);
    const head = blockHeaders(block).map((h) => {
      const i = block.axisNames.indexOf(h);
      return i >= 0 && lastNames.filter((n) => n === lastNames[i]).length === 1 ? lastNames[i]! : h;
    });
    const rows = block.rows.map((row) => rowCells(block, row));
    // A column that says the same on every row goes first: it tells nothing row by row.
    const constant = DROP_ORDER.filter((h) => rows.length > 1 && new Set(rows.map((r) => r[head.indexOf(h)])).size === 1);
    const dropOrder = [...constant, ...DROP_ORDER.filter((h) => !constant.includes(h))];
    const { text, dropped } = fitTable(head, rows, { width: fit.width, dropOrder, wrap: { status: 44 } });
    const lines = [`profile ${block.profile}`, text];
    // A constant column left out still says its one value.
    const named = dropped.map((h) => (constant.includes(h) ? `${h} (${rows[0]![head.indexOf(h)]} on every row)` : h));
    const note = droppedNote(named, fit.width, '--format md');
    if (note) lines.push(wrapText(note, fit.width ?? 100));
    if (block.paperCaption) lines.push(wrapText(block.paperCaption, fit.width ?? 100));
    parts.push(lines.join('\n'));
  }
  return `${parts.join('\n\n')}\n`;
}

/** Words wrapped to lines of at most width characters. */
export function wrapText(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

const mdEscape = (s: string): string => s.replace(/\|/g, '\\|');

function markdown(t: ComparisonTable): string {
  const parts = [[`## ${sweepTitle(t)}`, ...noteLines(t).map((l) => `\n${l}`)].join('\n')];
  if (t.blocks.length === 0) parts.push('No runs in this sweep.');
  for (const block of t.blocks) {
    const head = blockHeaders(block);
    const lines = [
      `### profile ${block.profile}`,
      '',
      `| ${head.join(' | ')} |`,
      `| ${head.map(() => '---').join(' | ')} |`,
      ...block.rows.map((r) => `| ${rowCells(block, r).map(mdEscape).join(' | ')} |`),
      ...(block.paperCaption ? ['', block.paperCaption] : []),
    ];
    parts.push(lines.join('\n'));
  }
  return `${parts.join('\n\n')}\n`;
}

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const FIGURE_COLUMNS = ['testPpl', 'params', 'smaller', 'faster', 'flopSpeedup', 'rankPct', 'steps'] as const;
const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function csv(t: ComparisonTable): string {
  const axisNames = [...new Set(t.blocks.flatMap((b) => b.axisNames))];
  const header = [
    'sweep', 'profile', 'model', 'method', 'precision', ...axisNames, 'seeds',
    ...FIGURE_COLUMNS.flatMap((c) => [`${snake(c)}_mean`, `${snake(c)}_std`, `${snake(c)}_n`, `${snake(c)}_note`]),
    'paper_ppl', 'paper_smaller', 'paper_faster', 'status',
  ];
  const lines = [header.map(csvField).join(',')];
  for (const block of t.blocks) {
    for (const r of block.rows) {
      const fields: (string | number | null)[] = [
        (t.sweeps ?? [t.sweep]).map((s) => s.id).join('+'), r.profile, r.model, r.method, r.precision,
        ...axisNames.map((a) => (a in r.axes ? String(r.axes[a]) : null)),
        r.seeds.join(' '),
        ...FIGURE_COLUMNS.flatMap((c) => {
          const f = r[c];
          return f.kind === 'value' ? [f.mean, f.std, f.n, f.note] : [null, null, 0, f.note];
        }),
        r.paper?.ppl ?? null, r.paper?.smaller ?? null, r.paper?.faster ?? null, r.status,
      ];
      lines.push(fields.map(csvField).join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

export function renderTable(t: ComparisonTable, format: Format, fit: FitOptions = { width: null }): string {
  switch (format) {
    case 'terminal':
      return terminal(t, fit);
    case 'md':
      return markdown(t);
    case 'csv':
      return csv(t);
    case 'json':
      return `${JSON.stringify(t, null, 2)}\n`;
  }
}
