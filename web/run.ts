/**
 * One on-device deletion, start to end, over uib's browser entry: the MNIST subset served beside
 * the page → a bias scenario (an MNIST-C corruption tied to a class, as `uib demo`) → train the
 * CNN → forget with a registry method → the real metrics. Shared by the page's worker, the
 * self-test and the Node/browser equivalence test, so all three run the same code.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  balancedSubset,
  buildModel,
  type DataSource,
  Dataset,
  evaluateAll,
  materialisePatterned,
  parseIdxImages,
  parseIdxLabels,
  planPatterned,
  predictSet,
  tf,
  trainModel,
  unlearn,
} from '../src/browser.ts';

export interface RunConfig {
  seed: number;
  trainSize: number;
  testSize: number;
  epochs: number;
  /** What to forget: the samples carrying `corruption` in class `biasClass`, a class, or positions. */
  forget:
    | { kind: 'pattern'; corruption: string; biasClass: number }
    | { kind: 'class'; cls: number }
    | { kind: 'samples'; positions: number[] };
  method: string;
  /** The page's CNN, or a small MLP (the cpu-backend equivalence test: pure-JS convolutions are slow). */
  arch?: 'cnn' | 'mlp';
  /** The method's hyper-parameters (defaults: the registry's). */
  params?: Record<string, unknown>;
}

export const TINY: RunConfig = {
  seed: 1,
  trainSize: 400,
  testSize: 200,
  epochs: 2,
  forget: { kind: 'pattern', corruption: 'stripe', biasClass: 3 },
  method: 'uib-if',
};

/** The page's data file (scripts/web-build.mjs writes it): four IDX files, each after its uint32 LE length. */
export function parseMnistSubset(
  bytes: Uint8Array,
  file = 'mnist-subset.bin',
): { train: DataSource; test: DataSource } {
  const parts: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.length; ) {
    const len = view.getUint32(at, true);
    parts.push(bytes.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  if (parts.length !== 4) throw new Error(`${file}: expected 4 IDX parts, found ${parts.length}`);
  const source = (name: string, img: Uint8Array, lab: Uint8Array): DataSource => {
    const im = parseIdxImages(img, `${file} (${name} images)`);
    const y = parseIdxLabels(lab, `${file} (${name} labels)`, 10);
    return {
      name: `mnist/${name}`,
      sampleShape: [im.rows, im.cols, 1],
      x: im.pixels,
      scale: 1 / 255,
      y,
      numClasses: 10,
      classNames: Array.from({ length: 10 }, (_, i) => String(i)),
      meta: { sourceIndex: Uint32Array.from({ length: im.n }, (_, i) => i) },
    };
  };
  return { train: source('train', parts[0], parts[1]), test: source('test', parts[2], parts[3]) };
}

export interface Stage {
  stage: 'data' | 'train' | 'forget' | 'evaluate';
  detail: string;
}

export interface RunResult {
  backend: string;
  method: string;
  counts: { train: number; forget: number; retain: number; test: number };
  before: Record<string, number | null>;
  after: Record<string, number | null>;
  perClass: { before: (number | null)[]; after: (number | null)[] };
  forgotten: { pixels: number[]; label: number; before: number; after: number }[];
  seconds: { train: number; unlearn: number };
}

export interface RunArtifacts {
  result: RunResult;
  original: LayersModel;
  model: LayersModel;
}

/** UA, RA, TA as accuracies; ρ is `bias-correlation` (corr of ŷ = k with the pattern). */
const METRICS = ['ua', 'ra', 'ta', 'mia-efficacy', 'bias-correlation'] as const;

/** Train, forget, evaluate; `onStage` reports progress. The caller disposes the two models. */
export async function runDeletion(
  sources: { train: DataSource; test: DataSource },
  cfg: RunConfig,
  onStage: (s: Stage) => void = () => {},
): Promise<RunArtifacts> {
  const train0 = balancedSubset(new Dataset(sources.train), cfg.trainSize, cfg.seed, 'train');
  const test0 = balancedSubset(new Dataset(sources.test), cfg.testSize, cfg.seed, 'test');
  // A pattern on the training data: the bias scenario's own planner and copies (src/data/scenarios).
  const corruption = cfg.forget.kind === 'pattern' ? cfg.forget.corruption : 'stripe';
  const biasClass = cfg.forget.kind === 'pattern' ? cfg.forget.biasClass : 3;
  const ctx = {
    seed: cfg.seed,
    datasetId: 'mnist',
    trainSource: sources.train,
    testSource: sources.test,
    train: train0,
    test: test0,
  };
  const plan = planPatterned(ctx, corruption, biasClass, 0.9, 0.02, 0.5);
  const parts = materialisePatterned(ctx, corruption, { patterned: plan.patterned } as never);
  const train = parts.train;
  const at = new Map(Array.from(train0.sourceIndices(), (s, i) => [s, i]));
  const labels = train.labels();
  let forgetPos: number[];
  if (cfg.forget.kind === 'pattern') forgetPos = plan.forget.map((s) => at.get(s)!);
  else if (cfg.forget.kind === 'class') {
    const k = cfg.forget.cls;
    forgetPos = Array.from(labels.keys()).filter((i) => labels[i] === k);
  } else forgetPos = [...cfg.forget.positions].sort((a, b) => a - b);
  if (forgetPos.length === 0) throw new Error('the deletion request selects no training sample');
  const inForget = new Set(forgetPos);
  const retainPos = Array.from(labels.keys()).filter((i) => !inForget.has(i));
  const forget = train.subset(forgetPos, 'forget');
  const retain = train.subset(retainPos, 'retain');
  onStage({
    stage: 'data',
    detail: `${train.length} train (${plan.patterned?.train.length ?? 0} with ${corruption}), ${forget.length} to forget`,
  });

  const spec =
    cfg.arch === 'mlp'
      ? {
          arch: 'mlp' as const,
          inputShape: [28, 28, 1],
          numClasses: 10,
          hidden: [32],
          seed: cfg.seed,
        }
      : { arch: 'cnn' as const, inputShape: [28, 28, 1], numClasses: 10, seed: cfg.seed };
  const recipe = {
    optimizer: { name: 'adam' as const, lr: 0.002 },
    epochs: cfg.epochs,
    batchSize: 32,
    seed: cfg.seed,
  };
  const original = buildModel(spec);
  let t0 = performance.now();
  await trainModel(original, train, recipe, {
    quiet: true,
    onEpochEnd: (epoch: number, loss: number) => {
      onStage({
        stage: 'train',
        detail: `epoch ${epoch + 1}/${cfg.epochs}, loss ${loss.toFixed(3)}`,
      });
      return undefined;
    },
  });
  const trainSeconds = (performance.now() - t0) / 1000;

  const evaluate = async (model: LayersModel, cost?: { timeMs: number }) => {
    const sets = {
      forget: await predictSet(model, forget),
      retain: await predictSet(model, retain),
      test: await predictSet(model, test0),
      biasedTest: parts.biasedTest ? await predictSet(model, parts.biasedTest) : undefined,
    };
    const rec = await evaluateAll(
      {
        sets: sets as never,
        scenario: { kind: 'bias', biasClass },
        seed: cfg.seed,
        cost: cost && { ...cost, gradEvals: 0, epochsTouched: 0 },
      },
      { metrics: [...METRICS] as never },
    );
    const values: Record<string, number | null> = {};
    for (const id of METRICS) values[id] = rec.values[id]?.value ?? null;
    return {
      values,
      perClass: rec.details.perClassTestAccuracy,
      forgetPred: sets.forget.predicted,
    };
  };
  onStage({ stage: 'evaluate', detail: 'the original model' });
  const before = await evaluate(original);
  onStage({ stage: 'forget', detail: `${cfg.method} on ${forget.length} samples` });
  t0 = performance.now();
  const { model } = await unlearn(
    cfg.method,
    { original, spec, recipe, data: { forget, retain }, seed: cfg.seed },
    cfg.params,
  );
  const unlearnMs = performance.now() - t0;
  onStage({ stage: 'evaluate', detail: 'the unlearned model' });
  const after = await evaluate(model, { timeMs: unlearnMs });
  const forgotten = Array.from({ length: Math.min(12, forget.length) }, (_, i) => ({
    pixels: Array.from(tf.tidy(() => tf.round(tf.mul(forget.tensors([i]).xs, 255)).dataSync())),
    label: forget.labels()[i],
    before: before.forgetPred[i],
    after: after.forgetPred[i],
  }));
  return {
    original,
    model,
    result: {
      backend: tf.getBackend(),
      method: cfg.method,
      counts: {
        train: train.length,
        forget: forget.length,
        retain: retain.length,
        test: test0.length,
      },
      before: before.values,
      after: after.values,
      perClass: { before: before.perClass, after: after.perClass },
      forgotten,
      seconds: { train: round(trainSeconds), unlearn: round(unlearnMs / 1000) },
    },
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
