/**
 * report.html in a real browser: headless Chromium (Debian `chromium`) through playwright-core.
 * Checks that the tables and the SVG plots render, that nothing logs an error, that the page
 * asks the network for nothing, and saves a screenshot under test-artifacts/.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { renderHtml } from '../../src/experiments/report/html.ts';
import { CHROMIUM, inspectInChromium } from './chromium.ts';
import { handMadeResults } from './fixture.ts';

const ARTIFACTS = path.resolve('test-artifacts');

test('report.html renders its tables and plots in headless Chromium, offline and without errors', async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    t.skip(
      `${CHROMIUM} is absent: install it with \`apt-get install -y chromium\` to run this test`,
    );
    return;
  }
  const html = await renderHtml(handMadeResults());
  assert.doesNotMatch(html, /<script/i, 'the report needs no JavaScript');
  assert.doesNotMatch(html, /(src|href)="https?:/i, 'the report loads nothing from the network');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, 'report-fixture.html');
  fs.writeFileSync(file, html);
  const facts = await inspectInChromium(file, path.join(ARTIFACTS, 'report-fixture.png'));

  assert.deepEqual(facts.errors, []);
  assert.deepEqual(facts.requests, []);
  assert.equal(facts.tables, 3, 'three metric groups in the one scenario');
  for (const first of facts.headerRows) assert.match(first, /^retrain/, 'Retrain row first');
  assert.ok(facts.bestCells >= 10, `best cells marked (${facts.bestCells})`);
  // 7 bar charts (UA, RA, TA, MIA, ρ, recall(k), Avg. Gap), the cost-gap scatter, the per-class map.
  assert.equal(facts.svgs, 9);
  for (const area of facts.svgBoxes) assert.ok(area > 10_000, `plot drawn with area ${area}`);
  assert.ok(facts.marks > 100, `plots hold marks (${facts.marks})`);
  assert.deepEqual(facts.images, [28, 28, 28, 28], 'forget examples decode as 28-px PNGs');
});
