/**
 * What two runs of one experiment file must agree on, whatever route ran them: every reference's
 * and cell's identity, key, status and metric values, except the clock's (time, speed-up).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseResults } from '../../../src/experiments/results-schema.ts';

const CLOCK_METRICS = new Set(['time-ms', 'speed-up']);

function values(v: { values: Record<string, unknown> } | null | undefined) {
  if (!v) return null;
  return Object.fromEntries(
    Object.entries(v.values)
      .filter(([id]) => !CLOCK_METRICS.has(id))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

export function metricContent(outDir: string) {
  const file = path.join(outDir, 'results.json');
  const r = parseResults(JSON.parse(fs.readFileSync(file, 'utf8')), file);
  return {
    complete: r.complete,
    references: r.references
      .map((x) => ({
        at: `${x.scenario}/${x.seed}/${x.role}/${x.member}`,
        key: x.cacheKey,
        values: values(x.metrics),
      }))
      .sort((a, b) => a.at.localeCompare(b.at)),
    cells: r.cells
      .map((c) => ({
        at: `${c.scenario}/${c.seed}/${c.method}`,
        key: c.key,
        status: c.status,
        values: values(c.metrics),
      }))
      .sort((a, b) => a.at.localeCompare(b.at)),
  };
}
