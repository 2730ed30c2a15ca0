/** User models for the tests: a functional model uib did not build, and tfjs's file layout. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type T = tfl.SymbolicTensor;

/**
 * Two branches joined by Add, Dropout, BatchNormalization, LayerNormalization, a softmax output
 * (on the Dense, or as an Activation layer); no layer named as uib names its own.
 */
export function branchyModel(
  inputDim: number,
  classes: number,
  opts: { seed?: number; separateSoftmax?: boolean; dropout?: number } = {},
): tfl.LayersModel {
  const seed = opts.seed ?? 1;
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 101 + k });
  const x = tfl.input({ shape: [inputDim], name: 'features' });
  const left = tfl.layers
    .dense({ units: 8, activation: 'relu', kernelInitializer: init(1), name: 'left_arm' })
    .apply(x) as T;
  const right = tfl.layers
    .dense({ units: 8, activation: 'tanh', kernelInitializer: init(2), name: 'right_arm' })
    .apply(x) as T;
  let h = tfl.layers.add({ name: 'join' }).apply([left, right]) as T;
  h = tfl.layers.dropout({ rate: opts.dropout ?? 0.2, name: 'drop' }).apply(h) as T;
  h = tfl.layers.batchNormalization({ name: 'bn' }).apply(h) as T;
  h = tfl.layers
    .dense({ units: 6, activation: 'relu', kernelInitializer: init(3), name: 'trunk' })
    .apply(h) as T;
  h = tfl.layers.layerNormalization({ name: 'ln' }).apply(h) as T;
  let out: T;
  if (opts.separateSoftmax) {
    out = tfl.layers
      .dense({ units: classes, kernelInitializer: init(4), name: 'head' })
      .apply(h) as T;
    out = tfl.layers.activation({ activation: 'softmax', name: 'probs' }).apply(out) as T;
  } else {
    out = tfl.layers
      .dense({ units: classes, activation: 'softmax', kernelInitializer: init(4), name: 'head' })
      .apply(h) as T;
  }
  return tfl.model({ inputs: x, outputs: out, name: 'branchy' });
}

/**
 * Save `model` as tfjs's file:// handler does (tfjs-node's NodeFileSystem): DIR/model.json with
 * the topology and a weights manifest pointing at ./weights.bin, DIR/weights.bin.
 */
export async function saveLikeTfjs(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      fs.mkdirSync(dir, { recursive: true });
      const weights = Buffer.from(a.weightData as ArrayBuffer);
      const json = {
        modelTopology: a.modelTopology,
        format: a.format,
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy,
        weightsManifest: [{ paths: ['./weights.bin'], weights: a.weightSpecs }],
      };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      fs.writeFileSync(path.join(dir, 'weights.bin'), weights);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
}

/** Save `model` as the Keras converter lays it out (model_config, a training config, a shard). */
export async function saveLikeKerasConverter(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      fs.mkdirSync(dir, { recursive: true });
      const topology = a.modelTopology as Record<string, unknown>;
      const json = {
        format: 'layers-model',
        generatedBy: 'keras v2.15.0',
        convertedBy: 'TensorFlow.js Converter v4.22.0',
        modelTopology: {
          keras_version: '2.15.0',
          backend: 'tensorflow',
          model_config: { class_name: topology.class_name, config: topology.config },
          training_config: {
            loss: 'sparse_categorical_crossentropy',
            optimizer_config: { class_name: 'Custom>Adam', config: { learning_rate: 0.001 } },
          },
        },
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }],
      };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      fs.writeFileSync(
        path.join(dir, 'group1-shard1of1.bin'),
        Buffer.from(a.weightData as ArrayBuffer),
      );
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
}

export function sameWeights(a: tfl.LayersModel, b: tfl.LayersModel): boolean {
  const wa = a.getWeights();
  const wb = b.getWeights();
  return (
    wa.length === wb.length &&
    wa.every((w, i) => {
      const x = w.dataSync();
      const y = wb[i].dataSync();
      return x.length === y.length && x.every((v, j) => v === y[j]);
    })
  );
}
