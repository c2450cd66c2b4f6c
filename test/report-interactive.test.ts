// The interactive HTML report of an ablation sweep (explained ratio x buffer, two seeds, two
// models, built through the real store) in headless Chromium with the network cut off: the
// metric-vs-setting charts draw error bars, the curves are one panel per model with methods as
// colours, labels name every varying setting in full (a reused run included), and hovering a
// point shows a tooltip with the run's label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { fillAblationDb } from './report-fixture.ts';
import { makeReport } from '../harness/report/report.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join('test-artifacts', 'report-ablation.png');

/** The drawn error bars of a figure: vertical rules with a length, as [top, bottom] in pixels. */
async function errorBars(page: Page, figure: string): Promise<number[][]> {
  return page.evaluate((sel) => {
    const lines = [...document.querySelectorAll(`${sel} g.mark-rule[class*="errorbars"] line`)] as SVGLineElement[];
    return lines.map((l) => {
      const b = l.getBoundingClientRect();
      return [b.top, b.bottom];
    }).filter(([top, bottom]) => bottom! - top! > 0.5);
  }, figure);
}

test('the interactive report of an ablation sweep: error bars, per-model panels, full labels, tooltips, offline', async (t) => {
  assert.ok(existsSync(CHROMIUM), `Chromium is not installed at ${CHROMIUM}; install it with: apt-get install -y chromium (CI's .ci/run does)`);
  const dir = mkdtempSync(join(tmpdir(), 'report-ablation-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'results.db');
  fillAblationDb(db, 'buffer x ratio, two seeds');
  const html = join(dir, 'report.html');
  const { charts } = await makeReport({ db, sweeps: ['ablation-grid'], format: 'terminal', html });

  const text = readFileSync(html, 'utf8');
  assert.doesNotMatch(text, /<script[^>]+src=/i, 'every script is inline');
  assert.doesNotMatch(text, /<link\b/i);
  const settingIds = charts.filter((c) => c.kind === 'metric-vs-setting').map((c) => c.id).sort();
  assert.deepEqual(settingIds, ['metric-vs-setting-tiny-inrank.bufferModes', 'metric-vs-setting-tiny-inrank.explainedRatio']);

  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM, headless: true, offline: true, viewport: { width: 1500, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
  });
  try {
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) requests.push(r.url());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${html}`);
    await page.waitForSelector('body[data-charts-ready]', { timeout: 60_000 });
    const states = await page.$$eval('figure[data-chart]', (figs) => figs.map((f) => `${f.id}: ${f.getAttribute('data-rendered')}`));
    assert.equal(states.length, charts.length);
    for (const s of states) assert.match(s, /: true$/, `every chart drew (${s})`);
    assert.deepEqual(errors, []);

    // Metric vs setting: an error bar per line (2 ratios x 2 models), buffer value (2) and metric whose seeds
    // differ: test perplexity and x faster; the parameter count is the same for both seeds (no length).
    const bars = await errorBars(page, '#chart-metric-vs-setting-tiny-inrank\\.bufferModes');
    assert.equal(bars.length, 16, `error bars with a length: ${bars.length}`);
    const settingText = await page.locator('#chart-metric-vs-setting-tiny-inrank\\.bufferModes').innerText();
    for (const header of ['test perplexity', 'parameters (millions)', 'x faster (wall-clock)']) assert.ok(settingText.includes(header), header);

    // Curves: one panel per model, a colour per method and setting, labels in full.
    const curves = page.locator('#chart-valid-vs-step');
    const headers = await curves.locator('g.role-column-header text').allTextContents();
    assert.deepEqual(headers, ['gpt2', 'gpt2-medium']);
    const legend = await curves.locator('g.role-legend-label text').allTextContents();
    assert.deepEqual(legend, [
      'full rank', 'InRank bufferModes=4 explainedRatio=0.8', 'InRank bufferModes=4 explainedRatio=0.9',
      'InRank bufferModes=8 explainedRatio=0.8', 'InRank bufferModes=8 explainedRatio=0.9',
    ], 'the reused 0.9 / 8 cell reads bufferModes=8 although its stored axes lack it; nothing is cut');

    // Hovering a point shows the run's full label and values.
    const point = curves.locator('g.mark-symbol path').first();
    const box = await point.boundingBox();
    assert.ok(box, 'a point to hover');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const tooltip = page.locator('#vg-tooltip-element.visible');
    await tooltip.waitFor({ timeout: 10_000 });
    const tip = await tooltip.innerText();
    assert.match(tip, /run\s+gpt2(-medium)? (InRank bufferModes=\d explainedRatio=0\.\d|full rank) s[12]/, tip);
    assert.match(tip, /validation perplexity\s+\d+\.\d{3}/, tip);

    // The legend toggles runs: clicking an entry fades the other lines.
    await curves.locator('g.role-legend-symbol path').last().click();
    const faded = await curves.locator('g.mark-line path').evaluateAll((paths) => paths.filter((p) => Number(p.getAttribute('opacity') ?? p.getAttribute('stroke-opacity') ?? 1) < 0.5).length);
    assert.ok(faded > 0, 'lines of the other entries fade');

    assert.deepEqual(requests, [], 'the report made no network request');
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  } finally {
    await context.close();
  }
});
