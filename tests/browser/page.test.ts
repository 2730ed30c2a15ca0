/**
 * The page in real Chromium: the self-test (train, forget a pattern, evaluate) on wasm and webgl,
 * metrics moving the right way, no console error, no request off the page's origin, a screenshot.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ensureBuilt, selftest, serve, withPage } from './page.ts';

const OUT = path.resolve(import.meta.dirname, '..', '..', 'test-artifacts', 'browser');
let server: Awaited<ReturnType<typeof serve>>;

before(async () => {
  ensureBuilt();
  server = await serve();
  fs.mkdirSync(OUT, { recursive: true });
});
after(() => server?.stop());

test('wasm: UIB-IF forgets the striped 3s and keeps test accuracy', {
  timeout: 90_000,
}, async () => {
  await withPage(server.url, async (page, log) => {
    const r = await selftest(page, `${server.url}/index.html?selftest&backend=wasm`, 80_000);
    assert.equal(r.backend, 'wasm');
    // UA = 1 − forget accuracy: forgetting raises it.
    assert.ok(
      r.after.ua > r.before.ua,
      `forget accuracy did not fall: UA ${r.before.ua} → ${r.after.ua}`,
    );
    assert.ok(
      r.after.ta >= r.before.ta - 0.05,
      `test accuracy fell: ${r.before.ta} → ${r.after.ta}`,
    );
    assert.ok(r.after['bias-correlation'] < r.before['bias-correlation'], 'ρ did not fall');
    assert.equal(await page.locator('#metrics tbody tr').count(), 6);
    assert.ok((await page.locator('#forgotten canvas').count()) > 0);
    await page.screenshot({ path: path.join(OUT, 'selftest-wasm.png'), fullPage: true });
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.foreign, []);
  });
});

test('webgl: a tiny FT deletion runs end to end', { timeout: 90_000 }, async (t) => {
  await withPage(server.url, async (page, log) => {
    const gl = await page.evaluate(() => {
      const c = document.createElement('canvas');
      return c.getContext('webgl2') !== null || c.getContext('webgl') !== null;
    });
    if (!gl) {
      t.skip('headless chromium here has no WebGL context (even with SwiftShader)');
      return;
    }
    // Software GL (SwiftShader) is slow: a smaller run, and FT, whose cost is a few passes; UIB-IF's
    // per-example curvature is what the wasm case covers.
    const r = await selftest(
      page,
      `${server.url}/index.html?selftest&backend=webgl&train=100&test=100&epochs=1&method=ft`,
      80_000,
    );
    assert.equal(r.backend, 'webgl');
    assert.ok(r.after.ua >= r.before.ua, `forget accuracy rose: UA ${r.before.ua} → ${r.after.ua}`);
    assert.ok(
      r.after.ta >= r.before.ta - 0.05,
      `test accuracy fell: ${r.before.ta} → ${r.after.ta}`,
    );
    await page.screenshot({ path: path.join(OUT, 'selftest-webgl.png'), fullPage: true });
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.foreign, []);
  });
});

test("a bad model.json dropped on the page gets Node loader's message, not a blank page", {
  timeout: 60_000,
}, async () => {
  const { checkLayersModelJson } = await import('../../src/models/user-model-json.ts');
  const graph = { format: 'graph-model', modelTopology: { node: [] } };
  let nodeMessage = '';
  try {
    checkLayersModelJson(graph, 'model.json');
  } catch (e) {
    nodeMessage = (e as Error).message;
  }
  assert.match(nodeMessage, /graph model/);
  await withPage(server.url, async (page, log) => {
    await page.goto(`${server.url}/index.html`);
    await page.setInputFiles('#file', {
      name: 'model.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(graph)),
    });
    await page.waitForSelector('#error:not([hidden])');
    assert.equal(await page.textContent('#error'), nodeMessage);
    await page.setInputFiles('#file', {
      name: 'model.json',
      mimeType: 'application/json',
      buffer: Buffer.from('{oops'),
    });
    await page.waitForFunction(() =>
      document.getElementById('error')!.textContent!.startsWith('model.json: not valid JSON'),
    );
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.foreign, []);
  });
});
