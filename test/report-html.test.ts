// The static HTML report (--static) in a real browser: headless Chromium opens the file with the
// network cut off, and every chart must have drawn marks with a size (not an empty frame). The
// interactive report is tested in report-interactive.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { fillReportDb } from './report-fixture.ts';
import { makeReport } from '../harness/report/report.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join('test-artifacts', 'report.png');

test('the static HTML report renders every chart with data in headless Chromium, offline', async (t) => {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is not installed at ${CHROMIUM}; install it with: apt-get install -y chromium (CI's .ci/run does)`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'report-html-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'results.db');
  fillReportDb(db);
  const html = join(dir, 'report.html');
  const { charts } = await makeReport({ db, sweeps: [], format: 'terminal', html, static: true });

  const text = readFileSync(html, 'utf8');
  // Self-contained: no script, no stylesheet link, no remote image or font.
  assert.doesNotMatch(text, /<script/i);
  assert.doesNotMatch(text, /<link\b/i);
  assert.doesNotMatch(text, /(src|href)\s*=\s*["']https?:/i);
  const kinds = new Set(charts.map((c) => c.kind));
  for (const kind of ['valid-vs-step', 'valid-vs-time', 'valid-vs-tokens', 'train-loss', 'metric-vs-setting', 'rank-growth', 'singular-values', 'params-vs-ppl']) {
    assert.ok(kinds.has(kind as never), `chart kind ${kind} is missing`);
  }
  // One rank-growth and one singular-value chart per InRank configuration with determinations, its
  // first seed: gpt2 at 0.9 (seeds 1 and 2: one chart), gpt2 at 0.8, gpt2-medium fp16.
  assert.equal(charts.filter((c) => c.kind === 'rank-growth').length, 3);
  assert.equal(charts.filter((c) => c.kind === 'singular-values').length, 3);

  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
    offline: true,
    viewport: { width: 1500, height: 1000 },
  });
  try {
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(`file://${html}`);
    const found = await page.evaluate(() =>
      [...document.querySelectorAll('figure[data-chart]')].map((fig) => {
        const marks = [...fig.querySelectorAll('svg .role-mark path, svg .role-mark line, svg .role-mark circle')];
        const sized = marks.filter((m) => {
          const b = (m as SVGGraphicsElement).getBBox();
          return b.width > 0 && b.height > 0;
        });
        const svg = fig.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          id: fig.id,
          kind: fig.getAttribute('data-chart'),
          marks: marks.length,
          sized: sized.length,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
        };
      }),
    );
    assert.equal(found.length, charts.length, 'every rendered chart is in the page');
    for (const chart of charts) assert.ok(found.some((f) => f.id === `chart-${chart.id}`), `chart-${chart.id} has a figure`);
    for (const f of found) {
      assert.ok(f.width > 100 && f.height > 100, `${f.id}: the SVG has a size (${f.width} x ${f.height})`);
      assert.ok(f.sized > 0, `${f.id}: drew ${f.marks} marks, ${f.sized} with a non-empty box`);
    }
    // The table is there too, with the cases spelled out.
    const tableText = await page.locator('table.comparison').first().innerText();
    assert.match(tableText, /no baseline/);
    assert.match(tableText, /baseline diverged/);
    assert.deepEqual(requests, [], 'the report made no network request');
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(existsSync(SCREENSHOT));
  } finally {
    await context.close();
  }
});
