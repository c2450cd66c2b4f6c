// What `npm run report` does, as a function: read a sweep, build the table, render it as
// text, and optionally write the HTML report. It never trains or writes the database.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadSweep } from '../store/sweep-read.ts';
import { buildComparison, type ComparisonTable } from './table.ts';
import { renderTable, type Format } from './format.ts';
import { buildCharts, renderCharts, type RenderedChart } from './charts.ts';
import { renderHtml } from './html.ts';
import { paperNumbers, type PaperLookup } from './paper.ts';
import { backendsSummary } from './backends.ts';

export interface ReportOptions {
  db: string;
  sweep: number | null;
  format: Format;
  /** Where the HTML report goes, if wanted. */
  html: string | null;
  /** Defaults to the paper's numbers from experiments/. */
  paper?: PaperLookup;
}

export interface ReportResult {
  table: ComparisonTable;
  text: string;
  charts: RenderedChart[];
}

export async function makeReport(options: ReportOptions): Promise<ReportResult> {
  const data = loadSweep(options.db, options.sweep);
  const table = buildComparison(data, options.paper ?? paperNumbers);
  const rendered = renderTable(table, options.format);
  // Machine-readable formats stay pure; the text table says where the runs trained.
  const where = options.format === 'terminal' ? backendsSummary(data.runs.map((r) => r.row)) : [];
  const text = where.length ? `${rendered}\n${where.join('\n')}` : rendered;
  let charts: RenderedChart[] = [];
  if (options.html) {
    charts = await renderCharts(buildCharts(data));
    mkdirSync(dirname(options.html), { recursive: true });
    writeFileSync(options.html, renderHtml(table, charts));
  }
  return { table, text, charts };
}
