/**
 * Helpers for tests that interrupt `uib` (run through tests/helpers/cli.ts): list what it left on
 * disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Every file under `dir`, as paths relative to it. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** An atomic writer's temp file or directory: `.name.tmp-<pid>-<hex>` (see core/atomic.ts). */
export const isTempName = (name: string): boolean => /^\..+\.tmp-\d+-[0-9a-f]+/.test(name);

/** Files a reader would take as results: none under a temp name or a temp directory. */
export function visibleFiles(dir: string): string[] {
  return listFiles(dir).filter((f) => !f.split(path.sep).some((part) => part.startsWith('.')));
}

export function tempLeftovers(dir: string): string[] {
  return listFiles(dir).filter((f) => f.split(path.sep).some(isTempName));
}
