/**
 * Opens a page in headless Chromium (Debian `chromium`) through playwright-core and reports what
 * rendered: tables, plots, images, console errors and any network request. For the report tests.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';
/** Headless, no sandbox (root in CI), and nothing of Chromium's own that would reach the network. */
export const CHROMIUM_QUIET_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/** Open `file` in headless Chromium and report what rendered. */
export async function inspectInChromium(file: string, screenshot: string) {
  const { chromium } = await import('playwright-core');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    javaScriptEnabled: false,
    args: [...CHROMIUM_QUIET_ARGS, '--disable-gpu'],
    viewport: { width: 1280, height: 900 },
  });
  const errors: string[] = [];
  const requests: string[] = [];
  try {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      const url = r.url();
      if (!url.startsWith('data:') && url !== `file://${file}`) requests.push(url);
    });
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    const facts = {
      tables: await page.locator('table.results').count(),
      headerRows: await page.locator('table.results tbody tr:first-child th').allTextContents(),
      bestCells: await page.locator('td.best').count(),
      svgs: await page.locator('figure.plot svg').count(),
      /** Rendered size of each plot: a plot that failed to draw has no area. */
      svgBoxes: await page
        .locator('figure.plot svg')
        .evaluateAll((els) =>
          els.map((e) => e.getBoundingClientRect()).map((b) => b.width * b.height),
        ),
      marks: await page
        .locator('figure.plot svg path, figure.plot svg rect, figure.plot svg line')
        .count(),
      images: await page
        .locator('.examples img')
        .evaluateAll((els) => (els as HTMLImageElement[]).map((i) => i.complete && i.naturalWidth)),
    };
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    return { ...facts, errors, requests };
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}
