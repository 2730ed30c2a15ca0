import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { UsageError } from '../../src/core/errors.ts';
import { sha256 } from '../../src/core/hash.ts';
import {
  fileHandler,
  loadCheckpoint,
  saveCheckpoint,
  specParamCount,
} from '../../src/models/checkpoint.ts';
import { buildModel, countParams, specOf } from '../../src/models/index.ts';
import type { ModelSpec } from '../../src/models/types.ts';

const spec: ModelSpec = {
  arch: 'resnet18',
  inputShape: [8, 8, 1],
  numClasses: 3,
  width: 2,
  seed: 4,
};
const recipe = { optimizer: { name: 'adam' as const, lr: 1e-3 }, epochs: 2, batchSize: 8, seed: 4 };
let tmp: string;

before(async () => {
  await tf.setBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-ckpt-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fresh saved checkpoint in its own directory. */
async function saved(name: string) {
  const dir = path.join(tmp, name);
  const model = buildModel(spec);
  // Move the BatchNorm statistics off their initial values so the test sees them saved.
  const bn = model.getLayer('stem_bn');
  bn.setWeights(bn.getWeights().map((w, i) => (i >= 2 ? tf.add(w, 0.5) : w)));
  await saveCheckpoint(dir, model, { recipe, metrics: { testAccuracy: 0.5 }, scenarioHash: 'abc' });
  return { dir, model };
}

const modelJson = (dir: string) =>
  JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
const writeModelJson = (dir: string, v: unknown) =>
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(v));

async function refuses(dir: string, file: string, pattern: RegExp) {
  await assert.rejects(loadCheckpoint(dir), (e) => {
    assert.ok(e instanceof UsageError, `not a UsageError: ${e}`);
    assert.ok(e.where.endsWith(file), `names ${e.where}, not ${file}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

test('save → load round trip: same outputs, spec, metadata; moving statistics kept', async () => {
  const { dir, model } = await saved('ok');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['metadata.json', 'model.json', 'weights.bin']);
  const { model: back, meta } = await loadCheckpoint(dir);
  const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 2);
  assert.deepEqual(
    (back.predict(x) as tf.Tensor).dataSync(),
    (model.predict(x) as tf.Tensor).dataSync(),
  );
  assert.deepEqual(specOf(back), spec);
  assert.deepEqual(meta.recipe, recipe);
  assert.equal(meta.metrics?.testAccuracy, 0.5);
  assert.equal(meta.scenarioHash, 'abc');
  assert.equal(meta.versions.tfjs, '4.22.0');
  assert.equal(meta.weightsSha256, sha256(fs.readFileSync(path.join(dir, 'weights.bin'))));
  assert.deepEqual(
    back.getLayer('stem_bn').getWeights()[2].dataSync(),
    model.getLayer('stem_bn').getWeights()[2].dataSync(),
  );
});

test('tf.loadLayersModel reads the directory through fileHandler', async () => {
  const { dir, model } = await saved('plain');
  const back = await tfl.loadLayersModel(fileHandler(dir));
  assert.equal(back.layers.length, model.layers.length);
  const json = modelJson(dir);
  assert.deepEqual(json.weightsManifest[0].paths, ['./weights.bin']);
  assert.equal(json.format, 'layers-model');
});

test('saving over a checkpoint replaces it atomically, no temp files left', async () => {
  const { dir } = await saved('again');
  await saveCheckpoint(dir, buildModel({ ...spec, seed: 5 }));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['metadata.json', 'model.json', 'weights.bin']);
  assert.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.includes('.tmp-')),
    [],
  );
  assert.equal((await loadCheckpoint(dir)).meta.spec.seed, 5);
});

test('missing files are named', async () => {
  const { dir } = await saved('missing');
  fs.rmSync(path.join(dir, 'weights.bin'));
  await refuses(dir, 'weights.bin', /missing/);
  fs.rmSync(path.join(dir, 'model.json'));
  await refuses(dir, 'model.json', /missing/);
  fs.rmSync(path.join(dir, 'metadata.json'));
  await refuses(dir, 'metadata.json', /missing/);
});

test('bad JSON and a wrong layout are refused', async () => {
  const { dir } = await saved('badjson');
  fs.writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": ');
  await refuses(dir, 'model.json', /not valid JSON/);
  writeModelJson(dir, { modelTopology: {} });
  await refuses(dir, 'model.json', /weightsManifest/);
  fs.writeFileSync(path.join(dir, 'metadata.json'), '[]');
  await refuses(dir, 'metadata.json', /format must be/);
});

test('a truncated weights.bin is refused before reading', async () => {
  const { dir } = await saved('trunc');
  const w = path.join(dir, 'weights.bin');
  fs.truncateSync(w, fs.statSync(w).size - 4);
  await refuses(dir, 'weights.bin', /holds \d+ bytes but model\.json declares \d+/);
});

test('changed weight bytes fail the SHA-256 check', async () => {
  const { dir } = await saved('flip');
  const w = path.join(dir, 'weights.bin');
  const bytes = fs.readFileSync(w);
  bytes[10] ^= 0xff;
  fs.writeFileSync(w, bytes);
  await refuses(dir, 'weights.bin', /SHA-256 differs/);
});

test('unsupported dtype and absurd shapes are refused before any allocation', async () => {
  const { dir } = await saved('dtype');
  const json = modelJson(dir);
  json.weightsManifest[0].weights[0].dtype = 'complex64';
  writeModelJson(dir, json);
  await refuses(dir, 'model.json', /unsupported dtype "complex64"/);
  json.weightsManifest[0].weights[0].dtype = 'float32';
  json.weightsManifest[0].weights[0].shape = [2 ** 30, 2 ** 30];
  writeModelJson(dir, json);
  await refuses(dir, 'weights.bin', /declares/);
  json.weightsManifest[0].weights[0].shape = [-1, 3];
  writeModelJson(dir, json);
  await refuses(dir, 'model.json', /invalid shape/);
});

test('weight paths may not leave the checkpoint directory', async () => {
  const { dir } = await saved('escape');
  fs.writeFileSync(path.join(tmp, 'outside.bin'), fs.readFileSync(path.join(dir, 'weights.bin')));
  for (const p of ['../outside.bin', path.join(tmp, 'outside.bin'), 'sub/../../outside.bin', '.']) {
    const json = modelJson(dir);
    json.weightsManifest[0].paths = [p];
    writeModelJson(dir, json);
    await refuses(dir, 'model.json', /leaves the checkpoint directory/);
  }
});

test('a topology that does not match the weights is refused naming model.json', async () => {
  const { dir } = await saved('mismatch');
  const other = path.join(tmp, 'mlp');
  await saveCheckpoint(
    other,
    buildModel({ arch: 'mlp', inputShape: [8, 8, 1], numClasses: 3, seed: 1 }),
  );
  const json = modelJson(dir);
  json.modelTopology = modelJson(other).modelTopology;
  writeModelJson(dir, json);
  await refuses(
    dir,
    'model.json',
    /modelTopology\.config\.name is "mlp" but the spec in metadata\.json builds "resnet18"/,
  );
});

test('specParamCount equals the built model’s parameter count (moving statistics included)', () => {
  const specs: ModelSpec[] = [
    { arch: 'mlp', inputShape: [28, 28, 1], numClasses: 10, seed: 1 },
    { arch: 'mlp', inputShape: [17], numClasses: 2, hidden: [5, 3, 7], seed: 1 },
    { arch: 'cnn', inputShape: [28, 28, 1], numClasses: 10, seed: 1 },
    { arch: 'cnn', inputShape: [11, 13, 3], numClasses: 4, seed: 1 },
    { arch: 'resnet18', inputShape: [8, 8, 1], numClasses: 3, width: 2, seed: 1 },
    { arch: 'resnet18', inputShape: [9, 12, 3], numClasses: 5, width: 3, seed: 1 },
  ];
  for (const s of specs) {
    const m = buildModel(s);
    assert.equal(specParamCount(s), countParams(m, { all: true }), JSON.stringify(s));
    m.dispose();
  }
});

test('loading frees what it allocates, also when it refuses; a frozen layer still loads', async () => {
  const dir = path.join(tmp, 'frozen');
  const model = buildModel({ arch: 'mlp', inputShape: [6], numClasses: 3, hidden: [4], seed: 2 });
  model.getLayer('dense_1').trainable = false; // saved as trainable: false, which does not matter
  await saveCheckpoint(dir, model);
  model.dispose();
  const before = tf.memory().numTensors;
  (await loadCheckpoint(dir)).model.dispose();
  assert.equal(tf.memory().numTensors, before);
  const json = modelJson(dir);
  json.modelTopology.config.layers[1].config.units = 5;
  writeModelJson(dir, json);
  await refuses(dir, 'model.json', /units is 5 but the spec in metadata\.json builds 4/);
  assert.equal(tf.memory().numTensors, before);
});
