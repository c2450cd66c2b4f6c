// What `npm run report` does, as a function: read a sweep, build the table, render it as
// text, and optionally write the HTML report. It never trains or writes the database.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadSweep } from './query.ts';
import { buildComparison, type ComparisonTable } from './table.ts';
import { renderTable, type Format } from './format.ts';
import { buildCharts, renderCharts, type RenderedChart } from './charts.ts';
import { renderHtml } from './html.ts';
import { paperNumbers, type PaperLookup } from './paper.ts';
import { openReadOnly } from './query.ts';
import { trialsOfSweep } from '../store/search-store.ts';
import { trialsChart } from './trials-chart.ts';

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
  const text = renderTable(table, options.format);
  let charts: RenderedChart[] = [];
  if (options.html) {
    charts = await renderCharts([...buildCharts(data), ...searchTrialsChart(options.db, data.sweep.id)]);
    mkdirSync(dirname(options.html), { recursive: true });
    writeFileSync(options.html, renderHtml(table, charts));
  }
  return { table, text, charts };
}

/** A search's trials chart (issue 16), when the sweep is a search. */
function searchTrialsChart(dbPath: string, sweepId: number) {
  const db = openReadOnly(dbPath);
  try {
    return trialsChart(trialsOfSweep(db, sweepId));
  } finally {
    db.close();
  }
}
