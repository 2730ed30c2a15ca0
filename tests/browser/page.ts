/**
 * For the browser tests: build web/dist once (or reuse a build newer than every source), serve it
 * on a free port, open pages in headless Debian chromium through playwright-core and record
 * console errors and every request that leaves the page's origin.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHROMIUM, CHROMIUM_QUIET_ARGS } from '../experiments/chromium.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && !e.parentPath.includes('dist'))
      t = Math.max(t, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return t;
}

/**
 * Holds a lock (a directory, made atomically) across the test processes while `fn` runs: the
 * browser test files run in parallel and must not build web/dist over each other, nor serve it
 * while another builds it. A lock older than 5 minutes is from a killed run and is taken over.
 */
function withBuildLock(fn: () => void): void {
  const lock = path.join(ROOT, 'web', '.build-lock');
  const sleep = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 300_000)
          fs.rmSync(lock, { recursive: true, force: true });
      } catch {
        // gone between the two calls: try again
      }
      Atomics.wait(sleep, 0, 0, 200);
    }
  }
  try {
    fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** web/dist, rebuilt when src/, web/ or the build script changed since the last build. */
export function ensureBuilt(): void {
  withBuildLock(buildIfStale);
}

function buildIfStale(): void {
  const marker = path.join(ROOT, 'web', 'dist', 'worker.js');
  const srcTime = Math.max(
    newest(path.join(ROOT, 'src')),
    newest(path.join(ROOT, 'web')),
    fs.statSync(path.join(ROOT, 'scripts', 'web-build.mjs')).mtimeMs,
  );
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs > srcTime) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'web-build.mjs')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`web:build failed: ${r.stderr}`);
}

export async function serve(): Promise<{ url: string; stop: () => void }> {
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(ROOT, 'scripts', 'web-serve.mjs'), '--port', '0'],
    { cwd: ROOT },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (m) resolve(m[0]);
    });
    child.on('exit', (c) => reject(new Error(`web-serve exited with ${c}`)));
  });
  return { url, stop: () => child.kill() };
}

/** WebGL through SwiftShader, so the webgl backend runs without a GPU. */
export const CHROMIUM_ARGS = [
  ...CHROMIUM_QUIET_ARGS,
  '--use-gl=angle',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

export async function withPage<T>(
  origin: string,
  fn: (
    page: import('playwright-core').Page,
    log: { errors: string[]; foreign: string[] },
  ) => Promise<T>,
): Promise<T> {
  const { chromium } = await import('playwright-core');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-web-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 900 },
  });
  const log = { errors: [] as string[], foreign: [] as string[] };
  try {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') log.errors.push(m.text());
    });
    page.on('pageerror', (e) => log.errors.push(`pageerror: ${e.message}`));
    context.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'))
        log.foreign.push(u);
    });
    return await fn(page, log);
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

/** Wait for the self-test's title; returns its JSON, or throws with the failure. */
export async function selftest(
  page: import('playwright-core').Page,
  url: string,
  timeoutMs = 120_000,
) {
  await page.goto(url);
  await page.waitForFunction(
    () => document.title.startsWith('selftest ok') || document.title.startsWith('selftest failed'),
    null,
    { timeout: timeoutMs },
  );
  const title = await page.title();
  if (!title.startsWith('selftest ok ')) throw new Error(title);
  return JSON.parse(title.slice('selftest ok '.length));
}
