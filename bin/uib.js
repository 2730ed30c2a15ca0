#!/usr/bin/env node
// Entry point of the `uib` command. Runs the built JavaScript in dist/ (`npm run build`, which
// `npm ci` runs through `prepare`). In a git clone whose sources changed after the build (a clone
// being edited) it runs the TypeScript sources through tsx instead, so a stale build is never run;
// an installed package has no .git, and its file times say nothing about the build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli', 'main.js');
const src = join(root, 'src');

/** The newest modification time under `dir` (0 when it does not exist). */
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const clone = existsSync(join(root, '.git'));
const fresh = existsSync(built) && (!clone || newest(src) <= statSync(built).mtimeMs);
let main;
if (fresh) {
  main = await import(pathToFileURL(built).href);
} else {
  const { tsImport } = await import('tsx/esm/api');
  main = await tsImport(pathToFileURL(join(src, 'cli', 'main.ts')).href, import.meta.url);
}
process.exitCode = await main.run(process.argv.slice(2));
