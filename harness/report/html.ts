// The HTML report: one self-contained file (inline CSS and inline SVG, no script, no link to
// anything) so it opens offline and can be mailed or archived as it is.
import type { RenderedChart } from './charts.ts';
import { blockHeaders, rowCells, sweepTitle } from './format.ts';
import type { ComparisonTable } from './table.ts';

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 28px; } h3 { font-size: 15px; }
table.comparison { border-collapse: collapse; font-size: 13px; margin-bottom: 12px; }
table.comparison th, table.comparison td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; white-space: nowrap; }
table.comparison th { background: #f2f2f2; }
table.comparison td.text { text-align: left; }
table.comparison td.status { text-align: left; white-space: normal; max-width: 340px; }
figure.chart { margin: 16px 0; padding: 8px; border: 1px solid #e4e4e4; display: inline-block; vertical-align: top; }
figure.chart figcaption { font-size: 13px; color: #555; margin-bottom: 4px; }
p.note { color: #666; font-size: 13px; }
`;

function tableHtml(t: ComparisonTable): string {
  if (t.blocks.length === 0) return '<p class="note">No runs in this sweep.</p>';
  return t.blocks
    .map((block) => {
      const head = blockHeaders(block);
      const textCols = 3 + block.axisNames.length;
      const rows = block.rows
        .map((row) => {
          const cells = rowCells(block, row).map((c, i) => {
            const cls = i < textCols ? 'text' : i === head.length - 1 ? 'status' : '';
            return `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(c)}</td>`;
          });
          return `<tr>${cells.join('')}</tr>`;
        })
        .join('\n');
      return `<h3>profile ${escapeHtml(block.profile)}</h3>
<table class="comparison" data-profile="${escapeHtml(block.profile)}">
<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
    })
    .join('\n');
}

function chartHtml(c: RenderedChart): string {
  // The chart draws its own title; the figure carries it as an attribute for tools and screen readers.
  return `<figure class="chart" id="chart-${escapeHtml(c.id)}" data-chart="${c.kind}" data-points="${c.points}" aria-label="${escapeHtml(c.title)}">
${c.svg}
</figure>`;
}

export function renderHtml(table: ComparisonTable, charts: RenderedChart[]): string {
  const title = `InRank report: ${sweepTitle(table)}`;
  const section = (heading: string, kinds: string[], empty: string): string => {
    const list = charts.filter((c) => kinds.includes(c.kind));
    return `<h2>${heading}</h2>\n${list.length ? list.map(chartHtml).join('\n') : `<p class="note">${empty}</p>`}`;
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="note">Test perplexity as mean ± std over seeds; "x smaller", "x faster" (training wall-clock) and the FLOP speedup are
against the full-rank run of the same model, precision, profile and seed. InRank's time is stage 1 + stage 2.</p>
<h2>Comparison</h2>
${tableHtml(table)}
${charts.some((c) => c.kind === 'trials') ? section('Search trials', ['trials'], '') : ''}
${section('Validation perplexity', ['valid-vs-step', 'valid-vs-time'], 'No validation evaluations recorded yet.')}
${section('Parameters vs perplexity', ['params-vs-ppl'], 'No finished run with a test perplexity yet.')}
${section('Rank growth (InRank)', ['rank-growth'], 'No rank determinations recorded.')}
${section('Singular values at each rank determination (InRank)', ['singular-values'], 'No rank determinations recorded.')}
</body>
</html>
`;
}
