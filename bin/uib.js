#!/usr/bin/env node
// Entry point of the `uib` command. Runs the TypeScript sources through tsx (a runtime dependency),
// so a fresh clone needs only `npm ci`; a built `dist/` is used when present.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli', 'main.js');
let main;
if (existsSync(built)) {
  main = await import(pathToFileURL(built).href);
} else {
  const { tsImport } = await import('tsx/esm/api');
  main = await tsImport(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href, import.meta.url);
}
process.exitCode = await main.run(process.argv.slice(2));
