import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Cache key for data read from files: path, size and mtime of each, so a loader's per-process
 * cache never serves stale bytes after a file changed on disk.
 */
export function fileKey(files: readonly string[]): string {
  return files
    .map((f) => {
      const st = fs.statSync(f);
      return `${path.resolve(f)}:${st.size}:${st.mtimeMs}`;
    })
    .join('|');
}
