/**
 * Determinism: the same seed gives byte-identical scenario manifests (every kind), and the same
 * seed and backend give bit-identical trained models and identical metrics when a whole
 * experiment is run again in a fresh process, on the cpu and on the wasm backend.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { sha256 } from '../../src/core/hash.ts';
import { viewDigest } from '../../src/data/digest.ts';
import {
  createScenario,
  formatManifest,
  materialiseScenario,
} from '../../src/data/scenarios/index.ts';
import type { ScenarioParams } from '../../src/data/scenarios/manifest.ts';
import { tempDir } from '../data/helpers.ts';
import { runUib } from '../helpers/cli.ts';
import { manifestsOf, metricsOf, TINY_EXPERIMENT } from './run-dir.ts';

const KINDS: ScenarioParams[] = [
  { kind: 'random', forgetFraction: 0.1 },
  { kind: 'class', forgetClass: 4 },
  { kind: 'pattern', corruption: 'fog', forgetClass: 3, rho: 0.5, testFraction: 0.2 },
  { kind: 'bias', corruption: 'stripe', biasClass: 2, rho: 0.9, q: 0.05, testFraction: 0.5 },
  { kind: 'colour', rho: 0.95, testRho: 0.1, forgetClass: null },
  { kind: 'backdoor', poisonFraction: 0.1, targetClass: 0 },
];

test('same seed → byte-identical manifests and materialised inputs, for every image kind', () => {
  for (const scenario of KINDS) {
    const make = (seed: number) =>
      createScenario({ dataset: 'mnist', seed, trainSize: 60, testSize: 30, scenario });
    const a = make(5);
    const b = make(5);
    assert.equal(formatManifest(a), formatManifest(b), scenario.kind);
    const da = materialiseScenario(a);
    const db = materialiseScenario(b);
    assert.equal(viewDigest(da.forget), viewDigest(db.forget));
    assert.equal(viewDigest(da.test), viewDigest(db.test));
    // The seed matters: another seed gives another scenario.
    assert.notEqual(
      formatManifest(make(6)),
      formatManifest(a),
      `${scenario.kind} ignores its seed`,
    );
  }
});

/** SHA-256 of every cached model's weights, by cache key. */
function modelHashes(dir: string): Record<string, string> {
  const d = path.join(dir, 'cache', 'models');
  return Object.fromEntries(
    fs
      .readdirSync(d)
      .filter((h) => !h.startsWith('.'))
      .map((h) => [h, sha256(fs.readFileSync(path.join(d, h, 'weights.bin')))]),
  );
}

for (const backend of ['cpu', 'wasm']) {
  test(`uib run twice on ${backend}: identical manifests, bit-identical models, identical metrics`, {
    timeout: 180_000,
  }, async (t) => {
    const dir = tempDir(`det-${backend}`);
    const file = path.join(dir, 'exp.json');
    fs.writeFileSync(file, JSON.stringify({ ...TINY_EXPERIMENT, seeds: [4] }));
    const outs = [path.join(dir, 'a'), path.join(dir, 'b')];
    for (const out of outs) {
      const r = await runUib(['run', file, '--out', out, '--backend', backend, '--quiet']);
      assert.equal(r.code, 0, r.stderr);
    }
    const [a, b] = outs;
    assert.deepEqual(manifestsOf(b), manifestsOf(a));
    assert.deepEqual(modelHashes(b), modelHashes(a));
    assert.deepEqual(metricsOf(b), metricsOf(a));
    const cells = Object.keys(metricsOf(a)).length;
    assert.ok(cells >= 4, `only ${cells} records compared`);
    t.diagnostic(
      `${backend}: ${cells} records and ${Object.keys(modelHashes(a)).length} models identical`,
    );
  });
}
