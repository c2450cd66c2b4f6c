// The HTML report: one self-contained file that opens offline and can be mailed or archived as
// it is. Interactive (the default): Vega, Vega-Lite and Vega-Embed are inlined and draw each
// chart with tooltips, a legend that toggles lines, and zoom. Static (--static): every chart is
// SVG rendered in Node, and the page has no script at all.
import type { RenderedChart } from './charts.ts';
import { blockHeaders, rowCells, sweepTitle } from './format.ts';
import type { ComparisonTable } from './table.ts';
import { vegaBundles } from './bundles.ts';
import { SECTIONS, USAGE_HINT } from './html-sections.ts';

export type HtmlMode = 'static' | 'interactive';

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 32px; } h3 { font-size: 15px; }
table.comparison { border-collapse: collapse; font-size: 13px; margin-bottom: 6px; }
table.comparison th, table.comparison td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; white-space: nowrap; }
table.comparison th { background: #f2f2f2; }
table.comparison td.text { text-align: left; }
table.comparison td.status { text-align: left; white-space: normal; max-width: 340px; }
figure.chart { margin: 12px 0; padding: 8px; border: 1px solid #e4e4e4; display: inline-block; vertical-align: top; }
p.note, p.caption { color: #666; font-size: 13px; max-width: 1100px; }
p.answers { color: #333; font-size: 14px; max-width: 1100px; margin: 4px 0 8px; }
p.sweep-note { font-size: 14px; background: #f6f6ee; border-left: 3px solid #cc9; padding: 4px 10px; max-width: 1100px; }
#vg-tooltip-element table td.key { font-weight: 600; }
`;

function tableHtml(t: ComparisonTable): string {
  if (t.blocks.length === 0) return '<p class="note">No runs in this report.</p>';
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
      const caption = block.paperCaption ? `\n<p class="caption paper-caption">${escapeHtml(block.paperCaption)}</p>` : '';
      return `<h3>profile ${escapeHtml(block.profile)}</h3>
<table class="comparison" data-profile="${escapeHtml(block.profile)}">
<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table>${caption}`;
    })
    .join('\n');
}

function chartHtml(c: RenderedChart, index: number): string {
  // The chart draws its own title; the figure carries it as an attribute for tools and screen readers.
  const body = c.svg ?? `<div class="vega" data-index="${index}"></div>`;
  return `<figure class="chart" id="chart-${escapeHtml(c.id)}" data-chart="${c.kind}" data-points="${c.points}" aria-label="${escapeHtml(c.title)}">
${body}
</figure>`;
}

function notesHtml(t: ComparisonTable): string {
  return t.sweeps
    .filter((s) => s.note)
    .map((s) => `<p class="sweep-note">note (sweep ${s.id}, ${escapeHtml(s.spec)}): ${escapeHtml(s.note!)}</p>`)
    .join('\n');
}

/** The page's script: embeds every chart from the inline specs; marks the body when all are drawn (tests wait on it). */
function embedScript(charts: RenderedChart[]): string {
  // JSON inside <script>: escape "<" so no string in the data can close the element.
  const specs = JSON.stringify(charts.map((c) => c.spec ?? null)).replace(/</g, '\\u003c');
  return `<script>${vegaBundles()}</script>
<script type="application/json" id="chart-specs">${specs}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById('chart-specs').textContent);
  var options = { renderer: 'svg', actions: { export: true, source: false, compiled: false, editor: false } };
  var pending = Array.prototype.map.call(document.querySelectorAll('figure.chart .vega'), function (el) {
    var figure = el.parentElement;
    return vegaEmbed(el, specs[Number(el.getAttribute('data-index'))], options).then(
      function () { figure.setAttribute('data-rendered', 'true'); },
      function (err) { el.textContent = 'this chart failed to draw: ' + err.message; figure.setAttribute('data-rendered', 'error'); }
    );
  });
  Promise.all(pending).then(function () { document.body.setAttribute('data-charts-ready', 'true'); });
})();
</script>`;
}

export function renderHtml(table: ComparisonTable, charts: RenderedChart[], mode: HtmlMode = 'static'): string {
  const title = `InRank report: ${sweepTitle(table)}`;
  const index = new Map(charts.map((c, i) => [c, i]));
  const sections = SECTIONS.flatMap((s) => {
    const list = charts.filter((c) => s.kinds.includes(c.kind));
    if (!list.length && s.empty === null) return [];
    const body = list.length ? list.map((c) => chartHtml(c, index.get(c)!)).join('\n') : `<p class="note">${s.empty}</p>`;
    return `<h2>${s.heading}</h2>\n<p class="answers">${s.answers}</p>\n${body}`;
  }).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${notesHtml(table)}
<p class="note">Test perplexity as mean ± std over seeds; "x smaller", "x faster" (training wall-clock) and the FLOP speedup are
against the full-rank run of the same model, precision, profile and seed. InRank's time is stage 1 + stage 2.</p>
<h2>Comparison</h2>
${tableHtml(table)}
${mode === 'interactive' ? `<p class="note">${USAGE_HINT}</p>` : ''}
${sections}
${mode === 'interactive' ? embedScript(charts) : ''}
</body>
</html>
`;
}
