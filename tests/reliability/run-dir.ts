/** What a `uib run` output directory must hold, and the parts of it that must not change on rerun. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256 } from '../../src/core/hash.ts';
import { parseManifest } from '../../src/data/scenarios/manifest.ts';
import { CellSchema, parseResults, ReferenceSchema } from '../../src/experiments/results-schema.ts';
import { SeedScenarioSchema } from '../../src/experiments/store.ts';
import { MODEL_FILE, readCheckpointMeta, WEIGHTS_FILE } from '../../src/models/checkpoint.ts';
import { visibleFiles } from './cli.ts';

/** 120 MNIST images, an 8-unit MLP, FT and GA, two seeds: a whole run takes a few seconds. */
export const TINY_EXPERIMENT = {
  name: 'kill-tiny',
  dataset: { name: 'mnist', trainSubset: 120, testSubset: 60 },
  model: { arch: 'mlp', hidden: [8] },
  training: { optimizer: { name: 'sgd', lr: 0.1 }, epochs: 2, batchSize: 32 },
  scenarios: [{ kind: 'random', forgetFraction: 0.2 }],
  methods: [{ id: 'ft', params: { epochs: 1 } }, { id: 'ga' }],
  seeds: [1, 2],
  options: { metrics: ['ua', 'ra', 'ta', 'weight-l2'], exampleImages: 2 },
};

/** Every visible file of a run directory is a whole record of its kind. */
export function checkRunDir(dir: string): void {
  for (const f of visibleFiles(dir)) {
    const full = path.join(dir, f);
    const base = path.basename(f);
    if (f.endsWith('.json')) {
      const value = JSON.parse(fs.readFileSync(full, 'utf8')); // throws on half a file
      if (f.startsWith(`cells${path.sep}`)) {
        const schema =
          base === '_scenario.json'
            ? SeedScenarioSchema
            : base.startsWith('_')
              ? ReferenceSchema
              : CellSchema;
        assert.ok(schema.safeParse(value).success, `${f} is not a valid record`);
      } else if (f === 'results.json') parseResults(value, f);
      else if (f.startsWith(path.join('cache', 'manifests')))
        parseManifest(JSON.stringify(value), f);
    }
  }
  const models = path.join(dir, 'cache', 'models');
  for (const h of fs.existsSync(models) ? fs.readdirSync(models) : []) {
    if (h.startsWith('.')) continue; // a temp directory: never read as a model
    checkCheckpointDir(path.join(models, h));
  }
}

/** A whole checkpoint: metadata and model.json parse, weights.bin has the recorded SHA-256. */
export function checkCheckpointDir(dir: string): void {
  const meta = readCheckpointMeta(dir);
  JSON.parse(fs.readFileSync(path.join(dir, MODEL_FILE), 'utf8'));
  const weights = fs.readFileSync(path.join(dir, WEIGHTS_FILE));
  assert.equal(sha256(weights), meta.weightsSha256, `${dir}: weights differ from metadata`);
}

/** (scenario, seed, method) → metric values; references likewise. What must not change on resume. */
export function metricsOf(dir: string): Record<string, unknown> {
  const r = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));
  const out: Record<string, unknown> = {};
  for (const c of r.cells) out[`${c.scenario}/${c.seed}/${c.method}`] = c.metrics.values;
  for (const c of r.references) out[`${c.scenario}/${c.seed}/_${c.role}`] = c.metrics.values;
  return out;
}

/** The scenario manifests a run built, by file name (a content hash), with their bytes. */
export function manifestsOf(dir: string): Record<string, string> {
  const d = path.join(dir, 'cache', 'manifests');
  return Object.fromEntries(
    fs
      .readdirSync(d)
      .filter((f) => !f.startsWith('.'))
      .map((f) => [f, fs.readFileSync(path.join(d, f), 'utf8')]),
  );
}
