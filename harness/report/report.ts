// What `npm run report` does, as a function: read a sweep, build the table, render it as
// text, and optionally write the HTML report. It never trains or writes the database.
import { loadSweeps, type SweepRef } from '../store/sweep-read.ts';
import { buildComparison, type ComparisonTable } from './table.ts';
import { renderTable, type Format } from './format.ts';
import { buildCharts, renderCharts, type RenderedChart } from './charts.ts';
import { renderHtml } from './html.ts';
import type { FitOptions } from './format.ts';
import { paperNumbers, type PaperLookup } from './paper.ts';
import { backendsSummary } from './backends.ts';
import { readProvenance } from '../store/provenance.ts';
import { writeOutput } from './write-output.ts';

export interface ReportOptions {
  db: string;
  /** Sweep ids or spec names (their latest sweep), read as one report; empty: the latest sweep. */
  sweeps: SweepRef[];
  format: Format;
  /** Where the HTML report goes, if wanted. */
  html: string | null;
  /** SVG charts and no script instead of the interactive page. */
  static?: boolean;
  /** The terminal's width, for the terminal format. */
  fit?: FitOptions;
  /** Defaults to the paper's numbers from experiments/. */
  paper?: PaperLookup;
}

export interface ReportResult {
  table: ComparisonTable;
  text: string;
  charts: RenderedChart[];
}

export async function makeReport(options: ReportOptions): Promise<ReportResult> {
  const data = loadSweeps(options.db, options.sweeps);
  const table = buildComparison(data, options.paper ?? paperNumbers);
  // The json export carries each run's provenance (the other formats are tables for reading).
  table.provenance = Object.fromEntries(data.runs.map((r) => [r.row.id, readProvenance(r.row)]));
  const rendered = renderTable(table, options.format, options.fit);
  // Machine-readable formats stay pure; the text table says where the runs trained.
  const where = options.format === 'terminal' ? backendsSummary(data.runs.map((r) => r.row)) : [];
  const text = where.length ? `${rendered}\n${where.join('\n')}` : rendered;
  let charts: RenderedChart[] = [];
  if (options.html) {
    const mode = options.static ? 'static' : 'interactive';
    charts = await renderCharts(buildCharts(data, table), mode);
    writeOutput(options.html, '--html', renderHtml(table, charts, mode));
  }
  return { table, text, charts };
}
