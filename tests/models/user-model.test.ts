import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../../src/core/errors.ts';
import {
  checkSupported,
  describeModel,
  freshModelLike,
  logitsTwin,
  restoreOutputActivation,
} from '../../src/models/describe.ts';
import { buildModel, cloneModel, paramGroups } from '../../src/models/index.ts';
import { loadLayersModelFile } from '../../src/models/user-model.ts';
import { predictLogits } from '../../src/train/evaluate.ts';
import {
  branchyModel,
  sameWeights,
  saveLikeKerasConverter,
  saveLikeTfjs,
} from './user-model-helpers.ts';

let root: string;
before(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-user-model-'));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

const dirFor = (name: string) => path.join(root, name);

/** Runs `fn`, expecting a one-line UsageError whose message matches `re`. */
async function refuses(fn: () => unknown, re: RegExp): Promise<string> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof UsageError, `not a UsageError: ${e}`);
    assert.match(e.message, re);
    assert.equal(e.message.split('\n').length, 1, e.message);
    return e.message;
  }
  assert.fail(`expected a refusal matching ${re}`);
}

test('a functional model saved by the standard handler loads with its weights and predictions', async () => {
  const model = branchyModel(4, 3);
  const dir = dirFor('functional');
  await saveLikeTfjs(model, dir);
  const loaded = await loadLayersModelFile(path.join(dir, 'model.json'));
  assert.ok(sameWeights(model, loaded));
  const x = tf.randomNormal([5, 4], 0, 1, 'float32', 3);
  const [a, b] = [model, loaded].map((m) => m.predict(x) as tf.Tensor);
  assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]) < 1e-6);
  tf.dispose([x, a, b]);
  // The directory works as well as its model.json.
  const again = await loadLayersModelFile(dir);
  assert.ok(sameWeights(model, again));
  for (const m of [model, loaded, again]) m.dispose();
});

test('a Sequential model and a Keras-converter layout load', async () => {
  const seq = tfl.sequential({
    layers: [
      tfl.layers.conv1d({ inputShape: [6, 2], filters: 3, kernelSize: 2, activation: 'relu' }),
      tfl.layers.maxPooling1d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  await saveLikeTfjs(seq, dirFor('seq'));
  const a = await loadLayersModelFile(dirFor('seq'));
  assert.equal(a.getClassName(), 'Sequential');
  assert.ok(sameWeights(seq, a));
  await saveLikeKerasConverter(seq, dirFor('keras-seq'));
  const b = await loadLayersModelFile(dirFor('keras-seq'));
  assert.ok(sameWeights(seq, b));
  const fn = branchyModel(3, 2, { separateSoftmax: true });
  await saveLikeKerasConverter(fn, dirFor('keras-fn'));
  const c = await loadLayersModelFile(path.join(dirFor('keras-fn'), 'model.json'));
  assert.ok(sameWeights(fn, c));
  for (const m of [seq, a, b, fn, c]) m.dispose();
});

test('a graph model is refused with the reason', async () => {
  const dir = dirFor('graph');
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'model.json'),
    JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }),
  );
  await refuses(() => loadLayersModelFile(dir), /model\.json: is a graph model .*not train/);
});

test('unsupported layers are refused in one line naming each, before tfjs builds them', async () => {
  const input = tfl.input({ shape: [5, 3] });
  let h = tfl.layers
    .lstm({
      units: 4,
      returnSequences: true,
      recurrentInitializer: 'glorotUniform',
      name: 'my_lstm',
    })
    .apply(input) as tfl.SymbolicTensor;
  h = tfl.layers
    .gru({ units: 4, recurrentInitializer: 'glorotUniform', name: 'my_gru' })
    .apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2 }).apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  const msg = await refuses(
    () => checkSupported(model),
    /my_lstm \(LSTM\).*my_gru \(GRU\).*supported layers: Dense/,
  );
  assert.match(msg, /Conv1D.*LayerNormalization.*Concatenate/);
  await saveLikeTfjs(model, dirFor('rnn'));
  await refuses(
    () => loadLayersModelFile(dirFor('rnn')),
    /model\.json: .*my_lstm \(LSTM\), my_gru \(GRU\)/,
  );
  model.dispose();
});

test('broken files are one-line UsageErrors naming the file', async () => {
  const model = branchyModel(4, 3);
  const dir = dirFor('broken');
  await saveLikeTfjs(model, dir);
  model.dispose();
  const json = path.join(dir, 'model.json');
  const good = fs.readFileSync(json, 'utf8');
  const bin = path.join(dir, 'weights.bin');
  const weights = fs.readFileSync(bin);
  fs.writeFileSync(bin, weights.subarray(0, weights.length - 4));
  await refuses(
    () => loadLayersModelFile(dir),
    /weights\.bin: holds \d+ bytes but model\.json declares/,
  );
  fs.writeFileSync(bin, weights);
  // biome-ignore lint/suspicious/noExplicitAny: edits reach into arbitrary JSON.
  const edit = (f: (j: any) => void) => {
    const j = JSON.parse(good);
    f(j);
    fs.writeFileSync(json, JSON.stringify(j));
  };
  edit((j) => {
    j.weightsManifest[0].paths = ['../elsewhere.bin'];
  });
  await refuses(() => loadLayersModelFile(dir), /leaves the model's directory/);
  edit((j) => {
    j.weightsManifest[0].weights[0].dtype = 'float16';
  });
  await refuses(() => loadLayersModelFile(dir), /dtype "float16".*allowed: float32, int32/);
  edit((j) => {
    j.format = 'something';
  });
  await refuses(() => loadLayersModelFile(dir), /format must be "layers-model"/);
  edit((j) => {
    j.weightsManifest[0].weights[0].name = 'nobody/kernel';
  });
  await refuses(() => loadLayersModelFile(dir), /model\.json: tfjs cannot build the model/);
  fs.writeFileSync(json, '{"modelTopology":');
  await refuses(() => loadLayersModelFile(dir), /model\.json: /);
  await refuses(() => loadLayersModelFile(path.join(root, 'absent')), /absent.*no such file/);
  // NaN weights: loaded, then refused.
  fs.writeFileSync(json, good);
  const nan = Buffer.from(weights);
  nan.writeFloatLE(Number.NaN, 0);
  fs.writeFileSync(bin, nan);
  await refuses(() => loadLayersModelFile(dir), /NaN/);
});

test('describeModel reads the graph: order, kinds, the last trainable layer, the softmax', () => {
  const model = branchyModel(4, 3);
  const d = describeModel(model);
  assert.deepEqual(
    d.layers.map((l) => `${l.name}:${l.kind ?? '-'}`),
    [
      'features:-',
      'left_arm:dense',
      'right_arm:dense',
      'join:-',
      'drop:-',
      'bn:norm',
      'trunk:dense',
      'ln:layernorm',
      'head:dense',
    ],
  );
  assert.equal(d.outputLayer, 'head');
  assert.equal(d.outputActivation, 'softmax');
  assert.equal(d.activationLayer, 'head');
  assert.deepEqual(d.problems, []);
  const sep = branchyModel(4, 3, { separateSoftmax: true });
  const ds = describeModel(sep);
  assert.equal(ds.outputLayer, 'head');
  assert.equal(ds.activationLayer, 'probs');
  // Groups from the graph: both arms one group (a block), bn joins it, ln joins trunk.
  const groups = paramGroups(model);
  assert.deepEqual(
    groups.map((g) => [g.name, g.isOutput, [...new Set(g.params.map((p) => p.layer))].join('+')]),
    [
      ['left_arm', false, 'left_arm+right_arm+bn'],
      ['trunk', false, 'trunk+ln'],
      ['head', true, 'head'],
    ],
  );
  // uib's own models keep their groups; the output group is found without its name.
  const mlp = buildModel({ arch: 'mlp', inputShape: [3], numClasses: 2, hidden: [4], seed: 1 });
  assert.deepEqual(
    paramGroups(mlp).map((g) => [g.name, g.isOutput]),
    [
      ['dense_1', false],
      ['output', true],
    ],
  );
  for (const m of [model, sep, mlp]) m.dispose();
});

test('checkSupported refuses outputs uib cannot read as classes', async () => {
  const mk = (units: number, activation: string) => {
    const x = tfl.input({ shape: [3] });
    const y = tfl.layers
      .dense({ units, activation: activation as 'linear', name: 'last' })
      .apply(x) as tfl.SymbolicTensor;
    return tfl.model({ inputs: x, outputs: y });
  };
  const tanh = mk(3, 'tanh');
  await refuses(() => checkSupported(tanh), /last has activation tanh; allowed: linear/);
  const multi = mk(3, 'sigmoid');
  await refuses(() => checkSupported(multi), /3-unit sigmoid \(multi-label\)/);
  const one = mk(1, 'linear');
  await refuses(() => checkSupported(one), /1 unit\(s\)/);
  const binary = mk(1, 'sigmoid');
  assert.equal(checkSupported(binary).outputActivation, 'sigmoid');
  const shared = tfl.layers.dense({ units: 3, name: 'twice' });
  const x = tfl.input({ shape: [3] });
  const y = shared.apply(shared.apply(x)) as tfl.SymbolicTensor;
  const sharedModel = tfl.model({ inputs: x, outputs: y });
  await refuses(() => checkSupported(sharedModel), /twice \(Dense\) is applied 2 times/);
  for (const m of [tanh, multi, one, binary, sharedModel]) m.dispose();
});

test('the logits twin gives the logits; restoring gives the model back; eval takes log p', () => {
  for (const separateSoftmax of [false, true]) {
    const model = branchyModel(4, 3, { separateSoftmax });
    const twin = logitsTwin(model);
    assert.equal(describeModel(twin).outputActivation, 'linear');
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 5);
    tf.tidy(() => {
      const p = model.predict(x) as tf.Tensor;
      const z = twin.predict(x) as tf.Tensor;
      assert.ok(tf.max(tf.abs(tf.sub(tf.softmax(z), p))).dataSync()[0] < 1e-6);
      // Not probabilities: rows do not sum to 1.
      assert.ok(tf.max(tf.abs(tf.sub(tf.sum(z, 1), 1))).dataSync()[0] > 1e-3);
      // predictLogits on the softmax model: log p, whose softmax is p.
      const lp = predictLogits(model, x);
      assert.ok(tf.max(tf.abs(tf.sub(tf.softmax(lp), p))).dataSync()[0] < 1e-6);
    });
    const back = restoreOutputActivation(twin, model);
    assert.ok(sameWeights(model, back));
    assert.equal(describeModel(back).outputActivation, 'softmax');
    x.dispose();
    for (const m of [model, twin, back]) m.dispose();
  }
  // A binary sigmoid: logits [0, z], softmax [1 − σ(z), σ(z)].
  const x = tfl.input({ shape: [3] });
  const y = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(x) as tfl.SymbolicTensor;
  const bin = tfl.model({ inputs: x, outputs: y });
  const twin = logitsTwin(bin);
  assert.equal(paramGroups(twin).length, 1);
  tf.tidy(() => {
    const xs = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
    const p = bin.predict(xs) as tf.Tensor;
    const q = tf.softmax(twin.predict(xs) as tf.Tensor);
    assert.ok(tf.max(tf.abs(tf.sub(tf.slice(q, [0, 1], [4, 1]), p))).dataSync()[0] < 1e-6);
  });
  const back = restoreOutputActivation(twin, bin);
  assert.ok(sameWeights(bin, back));
  for (const m of [bin, twin, back]) m.dispose();
});

test('freshModelLike: the same seed gives the same weights, another seed others', () => {
  const model = branchyModel(4, 3);
  const a = freshModelLike(model, 1);
  const b = freshModelLike(model, 1);
  const c = freshModelLike(model, 2);
  assert.ok(sameWeights(a, b));
  assert.ok(!sameWeights(a, c));
  assert.ok(!sameWeights(a, model));
  for (const m of [model, a, b, c]) m.dispose();
});

test('depth multipliers survive a clone and a save (tfjs 4.22 leaves them out of the config)', async () => {
  const seq = tfl.sequential({
    layers: [
      tfl.layers.depthwiseConv2d({ inputShape: [5, 5, 2], kernelSize: 2, depthMultiplier: 2 }),
      tfl.layers.separableConv2d({ filters: 3, kernelSize: 2, depthMultiplier: 3 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 2 }),
    ],
  });
  const copy = cloneModel(seq);
  assert.ok(sameWeights(seq, copy));
  await saveLikeTfjs(seq, dirFor('depth'));
  const loaded = await loadLayersModelFile(dirFor('depth'));
  assert.ok(sameWeights(seq, loaded));
  for (const m of [seq, copy, loaded]) m.dispose();
});
