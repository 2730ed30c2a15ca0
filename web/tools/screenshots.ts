/**
 * The screenshots of docs/browser.md, one per stage of the page (loaded, training, evidence), taken
 * with playwright-core in Debian chromium: `node --import tsx web/tools/screenshots.ts`.
 */
import * as path from 'node:path';
import { ensureBuilt, serve, withPage } from '../../tests/browser/page.ts';

const OUT = path.resolve(import.meta.dirname, '..', '..', 'docs', 'browser');
ensureBuilt();
const server = await serve();
try {
  await withPage(server.url, async (page, log) => {
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => document.querySelectorAll('#grid canvas').length > 0);
    await page.screenshot({ path: path.join(OUT, '1-loaded.png') });
    await page.selectOption('#backend', 'wasm');
    await page.click('#run');
    await page.waitForFunction(() =>
      /^(train|forget)/.test(document.getElementById('status')!.textContent ?? ''),
    );
    await page.screenshot({ path: path.join(OUT, '2-training.png') });
    await page.waitForFunction(
      () => document.getElementById('status')!.textContent === 'Done.',
      null,
      { timeout: 300_000 },
    );
    await page.screenshot({ path: path.join(OUT, '3-evidence.png'), fullPage: true });
    console.log(JSON.stringify(log));
  });
} finally {
  server.stop();
}
