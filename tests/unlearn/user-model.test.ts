/**
 * Unlearning a tfjs-layers model uib did not build: saved with tfjs's file layout, loaded with
 * loadLayersModelFile, two branches joined by Add, Dropout, BatchNorm, LayerNorm, softmax output,
 * layer names of its own. Every method runs on it (or refuses by name); softmax models are
 * trained on their logits; no tensor leaks.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../../src/core/errors.ts';
import { Rng } from '../../src/core/rng.ts';
import { datasetFromArrays } from '../../src/data/dataset.ts';
import { describeModel, logitsTwin, restoreOutputActivation } from '../../src/models/describe.ts';
import { loadLayersModelFile } from '../../src/models/user-model.ts';
import { modelWeightsProblem } from '../../src/models/weight-guard.ts';
import { trainModel } from '../../src/train/train.ts';
import type { TrainRecipe } from '../../src/train/types.ts';
import { trainingSetImportance } from '../../src/unlearn/methods/ssd.ts';
import {
  listMethods,
  paramFields,
  type UnlearnInputs,
  unlearn,
} from '../../src/unlearn/registry.ts';
import { branchyModel, sameWeights, saveLikeTfjs } from '../models/user-model-helpers.ts';

let root: string;
let model: tfl.LayersModel;
const recipe: TrainRecipe = {
  optimizer: { name: 'adam', lr: 0.02 },
  epochs: 4,
  batchSize: 16,
  seed: 1,
};

/** 60 samples of 4 features, 3 classes by the largest of three projections; class 0 forgotten. */
function data() {
  const rng = new Rng(5);
  const n = 60;
  const x = Float32Array.from({ length: n * 4 }, () => rng.normal());
  const y = Int32Array.from({ length: n }, (_, i) => {
    const r = x.subarray(i * 4, i * 4 + 4);
    const s = [r[0] + r[1], r[2] - r[0], r[3] - r[1]];
    return s.indexOf(Math.max(...s));
  });
  const all = datasetFromArrays({ x, y, sampleShape: [4], numClasses: 3, name: 'toy' });
  const forget: number[] = [];
  const retain: number[] = [];
  for (let i = 0; i < n; i++) (y[i] === 0 && forget.length < 8 ? forget : retain).push(i);
  return { all, retain: all.subset(retain), forget: all.subset(forget) };
}
const { all, ...sets } = data();

function inputs(original: tfl.LayersModel): UnlearnInputs {
  return { original, recipe, data: sets, seed: 3, quiet: true };
}

/** Cheap settings for every method that takes them. */
function quick(id: string): Record<string, unknown> {
  const fields = paramFields(listMethods().find((m) => m.id === id)!);
  const p: Record<string, unknown> = {};
  if ('epochs' in fields) p.epochs = 1;
  if ('maxEpochs' in fields) p.maxEpochs = 1;
  if ('samples' in fields) p.samples = 8;
  if ('fisherSamples' in fields) p.fisherSamples = 30;
  if ('priorFisherSamples' in fields) p.priorFisherSamples = 30;
  if ('searchSamples' in fields) p.searchSamples = 16;
  if ('priorSearchSamples' in fields) p.priorSearchSamples = 16;
  return p;
}

before(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-user-unlearn-'));
  // Trained as a user would with uib: through its logits twin, then saved in tfjs's layout.
  const built = branchyModel(4, 3, { seed: 2 });
  const twin = logitsTwin(built);
  await trainModel(twin, all, recipe, { quiet: true });
  const trained = restoreOutputActivation(twin, built);
  await saveLikeTfjs(trained, path.join(root, 'm'));
  for (const m of [built, twin, trained]) m.dispose();
  model = await loadLayersModelFile(path.join(root, 'm', 'model.json'));
});
after(() => {
  model.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Softmax rows of `m` on a few inputs: probabilities, not logits. */
function isSoftmax(m: tfl.LayersModel): boolean {
  return tf.tidy(() => {
    const p = m.predict(tf.randomNormal([5, 4], 0, 1, 'float32', 9)) as tf.Tensor;
    return (
      tf.max(tf.abs(tf.sub(tf.sum(p, 1), 1))).dataSync()[0] < 1e-5 && tf.min(p).dataSync()[0] >= 0
    );
  });
}

for (const id of ['uib-if', 'ft']) {
  test(`${id} unlearns the loaded user model: finite weights, softmax kept, no tensor leak`, async () => {
    const before = model.getWeights().map((w) => w.dataSync().slice());
    // A first run may set up backend state; the count must be flat from then on.
    (await unlearn(id, inputs(model), quick(id))).model.dispose();
    const n0 = tf.memory().numTensors;
    const r = await unlearn(id, inputs(model), quick(id));
    assert.equal(modelWeightsProblem(r.model), null);
    assert.ok(isSoftmax(r.model), 'the result keeps the softmax output');
    assert.equal(r.details.outputActivation, 'softmax');
    assert.equal(describeModel(r.model).outputLayer, 'head');
    assert.ok(!sameWeights(r.model, model), 'the weights moved');
    model.getWeights().forEach((w, i) => {
      assert.deepEqual(w.dataSync(), before[i], 'the original is unchanged');
    });
    r.model.dispose();
    assert.equal(tf.memory().numTensors, n0);
  });
}

test('every method runs on the user model (or refuses it by name)', async () => {
  const ids = listMethods()
    .map((m) => m.id)
    .filter((id) => !id.endsWith('+uib') || id === 'ft+uib' || id === 'scrub+uib');
  for (const id of ids) {
    const n0 = tf.memory().numTensors;
    // SSD reads its importance over D, computed once after training.
    const importanceD = id.startsWith('ssd') ? trainingSetImportance(model, all) : undefined;
    const r = await unlearn(id, { ...inputs(model), precomputed: importanceD }, quick(id));
    assert.equal(modelWeightsProblem(r.model), null, id);
    assert.ok(isSoftmax(r.model), id);
    r.model.dispose();
    assert.equal(tf.memory().numTensors, n0, `${id} leaked tensors`);
  }
});

test('fisher-forgetting and iu run on a model with LayerNormalization (no TypeError)', async () => {
  for (const id of ['fisher-forgetting', 'iu']) {
    const r = await unlearn(id, inputs(model), quick(id));
    assert.equal(modelWeightsProblem(r.model), null, id);
    // LayerNorm's γ and β were touched like every other weight.
    const ln = (m: tfl.LayersModel) => m.getLayer('ln').getWeights()[0].dataSync();
    assert.notDeepEqual(ln(r.model), ln(model), `${id} left the LayerNorm alone`);
    r.model.dispose();
  }
});

test('a softmax model is unlearned on its logits: the same run as on its logits twin', async () => {
  for (const separateSoftmax of [false, true]) {
    // No dropout: tfjs draws its masks from a stream uib does not seed, so runs would differ.
    const m = branchyModel(4, 3, { seed: 4, separateSoftmax, dropout: 0 });
    const twin = logitsTwin(m);
    const a = await unlearn('ft', inputs(m), { epochs: 1 });
    const b = await unlearn('ft', inputs(twin), { epochs: 1 });
    // Bit for bit: the losses saw the logits, not a softmax of the probabilities.
    for (const layer of ['left_arm', 'right_arm', 'trunk', 'head', 'bn', 'ln']) {
      const wa = a.model.getLayer(layer).getWeights();
      const wb = b.model.getLayer(layer).getWeights();
      wa.forEach((w, i) => {
        assert.deepEqual(w.dataSync(), wb[i].dataSync(), `${layer}/${i}`);
      });
    }
    assert.ok(isSoftmax(a.model));
    assert.equal(describeModel(b.model).outputActivation, 'linear');
    for (const x of [m, twin, a.model, b.model]) x.dispose();
  }
});

test('trainModel refuses a softmax model (it trains on logits)', async () => {
  await assert.rejects(
    () => trainModel(model, sets.retain, recipe, { quiet: true }),
    (e) =>
      e instanceof UsageError && /ends in softmax; trainModel trains on logits/.test(e.message),
  );
});

test('a model with an LSTM or a GRU is refused by unlearn in one line naming it', async () => {
  const x = tfl.input({ shape: [4, 1] });
  let h = tfl.layers
    .lstm({
      units: 3,
      returnSequences: true,
      recurrentInitializer: 'glorotUniform',
      name: 'seq_lstm',
    })
    .apply(x) as tfl.SymbolicTensor;
  h = tfl.layers
    .gru({ units: 3, recurrentInitializer: 'glorotUniform', name: 'seq_gru' })
    .apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3 }).apply(h) as tfl.SymbolicTensor;
  const rnn = tfl.model({ inputs: x, outputs: out });
  const n0 = tf.memory().numTensors;
  for (const id of ['ft', 'uib-if', 'retrain']) {
    await assert.rejects(
      () => unlearn(id, inputs(rnn)),
      (e) =>
        e instanceof UsageError &&
        e.message.split('\n').length === 1 &&
        /^original model: uib cannot unlearn this model: seq_lstm \(LSTM\); seq_gru \(GRU\); supported layers: Dense, /.test(
          e.message,
        ),
    );
  }
  assert.equal(tf.memory().numTensors, n0);
  rnn.dispose();
});

test('uib-if with every prior curvature runs on the user model', async () => {
  for (const fisher of ['kfac', 'fisher', 'fisher-sampled', 'isotropic']) {
    const r = await unlearn('uib-if', inputs(model), { ...quick('uib-if'), fisher });
    assert.equal(modelWeightsProblem(r.model), null, fisher);
    r.model.dispose();
  }
});

test('a sequence model (Embedding, Conv1D, Dense over positions, pooling) unlearns with uib-if', async () => {
  const rng = new Rng(8);
  const n = 40;
  const x = Float32Array.from({ length: n * 6 }, () => rng.int(0, 7));
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * 6] + x[i * 6 + 1]) % 2);
  const toks = datasetFromArrays({ x, y, sampleShape: [6], numClasses: 2, name: 'tokens' });
  const ids = [...Array(n).keys()];
  const data = {
    forget: toks.subset(ids.filter((i) => i % 5 === 0)),
    retain: toks.subset(ids.filter((i) => i % 5 !== 0)),
  };
  const seq = tfl.sequential({
    layers: [
      tfl.layers.embedding({ inputDim: 7, outputDim: 4, inputLength: 6 }),
      tfl.layers.conv1d({ filters: 5, kernelSize: 2, activation: 'relu' }),
      tfl.layers.dense({ units: 3, activation: 'tanh' }),
      tfl.layers.globalMaxPooling1d(),
      tfl.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  const n0 = tf.memory().numTensors;
  for (const fisher of ['kfac', 'fisher-stratified']) {
    const r = await unlearn(
      'uib-if',
      { original: seq, recipe, data, seed: 1, quiet: true },
      { ...quick('uib-if'), fisher },
    );
    assert.equal(modelWeightsProblem(r.model), null, fisher);
    r.model.dispose();
  }
  assert.equal(tf.memory().numTensors, n0);
  seq.dispose();
});
