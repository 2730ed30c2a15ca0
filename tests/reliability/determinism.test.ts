/**
 * Determinism: the same seed gives byte-identical scenario manifests (every kind), and the same
 * seed and backend give bit-identical trained models and identical metrics when a whole
 * experiment is run again in a fresh process, on the cpu and on the wasm backend; on the native
 * route, the thread count changes no bit of a trained model.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type * as tf from '@tensorflow/tfjs-core';
import { computeEnvironment } from '../../src/backend/environment.ts';
import { initBackend } from '../../src/backend/index.ts';
import {
  nativeAddon,
  nativeUnavailableReason,
  threadsFromEnv,
} from '../../src/backend/native/addon.ts';
import { useNativeKernels } from '../../src/backend/native/route.ts';
import { sha256, sha256Json } from '../../src/core/hash.ts';
import { Rng } from '../../src/core/rng.ts';
import { viewDigest } from '../../src/data/digest.ts';
import {
  createScenario,
  formatManifest,
  materialiseScenario,
} from '../../src/data/scenarios/index.ts';
import type { ScenarioParams } from '../../src/data/scenarios/manifest.ts';
import { buildModel } from '../../src/models/index.ts';
import { softmaxCrossEntropy } from '../../src/train/evaluate.ts';
import { trainLoop } from '../../src/train/loop.ts';
import { weightHashes } from '../../src/unlearn/registry.ts';
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

test('native route: CNN training steps give bit-identical weights with 1, 2 and 3 threads', async (t) => {
  const addon = nativeAddon();
  if (addon === undefined) return t.skip(`native addon not built: ${nativeUnavailableReason()}`);
  const data = materialiseScenario(
    createScenario({
      dataset: 'mnist',
      seed: 2,
      trainSize: 96,
      testSize: 10,
      scenario: { kind: 'random', forgetFraction: 0.25 },
    }),
  ).retain;
  await initBackend('wasm');
  useNativeKernels(true);
  const hashes: string[] = [];
  // minParallelWork 0 splits every kernel even at this size; the last run keeps the default.
  const runs: [number, number | undefined][] = [
    [1, 0],
    [2, 0],
    [3, 0],
    [2, undefined],
  ];
  try {
    for (const [threads, minWork] of runs) {
      if (minWork === undefined) addon.setThreads(threads);
      else addon.setThreads(threads, minWork);
      const env = computeEnvironment();
      assert.deepEqual([env.route, env.threads], ['native', threads]);
      const model = buildModel({ arch: 'cnn', inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
      const r = await trainLoop({
        model,
        streams: { train: { data, batchSize: 24 } },
        epochOver: 'train',
        epochs: 1,
        optimizer: { name: 'adam', lr: 1e-3 },
        rng: new Rng(5),
        quiet: true,
        loss: (b) =>
          softmaxCrossEntropy(model.apply(b.train.x, { training: true }) as tf.Tensor, b.train.y),
      });
      assert.equal(r.steps, 3);
      hashes.push(sha256Json(weightHashes(model)));
      model.dispose();
    }
  } finally {
    addon.setThreads(threadsFromEnv());
  }
  assert.deepEqual(
    hashes,
    hashes.map(() => hashes[0]),
    'weight hashes by run',
  );
});
