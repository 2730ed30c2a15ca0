/**
 * One on-device deletion, start to end, over uib's browser entry: the MNIST subset served beside
 * the page → a bias scenario (an MNIST-C corruption tied to a class, as `uib demo`) → train the
 * CNN → forget with a registry method → the real metrics. Shared by the page's worker, the
 * self-test and the Node/browser equivalence test, so all three run the same code.
 *
 * Or an image set of the user's, dropped on the page (`PageData`): split 80 / 20 by the seed
 * (`pageSources`), trained and forgotten the same way; its pixels carry no pattern unless the
 * pattern option is chosen (which needs MNIST's 28×28×1 bytes).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  balancedSubset,
  buildModel,
  type DataSource,
  Dataset,
  evaluateAll,
  type Features,
  type Labels,
  materialisePatterned,
  parseIdxImages,
  parseIdxLabels,
  planPatterned,
  predictSet,
  rngFor,
  tf,
  trainModel,
  UsageError,
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

/**
 * A data set of the user's as the page hands it to the worker: plain arrays (their buffers are
 * transferred, not copied) and what the deletion record says of the files it came from.
 */
export interface PageData {
  name: string;
  format: string;
  sampleShape: number[];
  x: Features;
  scale: number;
  y: Labels;
  numClasses: number;
  classNames: string[];
  /** The files as dropped: name, size, SHA-256 (`sha256sum` prints the same). */
  files: { name: string; bytes: number; sha256: string }[];
  /** The loader's SHA-256 over `files` (src/data/user/types.ts). */
  sha256: string;
}

/** Share of a dropped set held out as its test set. */
export const TEST_FRACTION = 0.2;

/**
 * A dropped set → train and test sources: per class, a seeded 20 % is the test set (at least one
 * sample of a class with two or more), the rest is trained on. `meta.sourceIndex` is the row in
 * the user's files, so the record names forgotten samples by the loader's ids (row numbers).
 */
export function pageSources(data: PageData, seed: number): { train: DataSource; test: DataSource } {
  const byClass: number[][] = Array.from({ length: data.numClasses }, () => []);
  for (let i = 0; i < data.y.length; i++) byClass[data.y[i]].push(i);
  const train: number[] = [];
  const test: number[] = [];
  byClass.forEach((rows, c) => {
    const perm = rngFor(seed, 'page-split', c).permutation(rows.length);
    const k = rows.length < 2 ? 0 : Math.max(1, Math.round(TEST_FRACTION * rows.length));
    perm.forEach((j, r) => {
      (r < k ? test : train).push(rows[j]);
    });
  });
  if (test.length === 0 || train.length === 0)
    throw new UsageError(
      data.name,
      `holds ${data.y.length} samples: too few for a held-out ${TEST_FRACTION * 100} % test set`,
    );
  const size = data.sampleShape.reduce((a, b) => a * b, 1);
  const part = (rows: number[], name: string): DataSource => {
    rows.sort((a, b) => a - b);
    const x = new (data.x.constructor as new (n: number) => Features)(rows.length * size);
    const y = new (data.y.constructor as new (n: number) => Labels)(rows.length);
    rows.forEach((r, i) => {
      x.set(data.x.subarray(r * size, (r + 1) * size), i * size);
      y[i] = data.y[r];
    });
    return {
      name: `${data.name}/${name}`,
      sampleShape: data.sampleShape,
      x,
      scale: data.scale,
      y,
      numClasses: data.numClasses,
      classNames: data.classNames,
      meta: { sourceIndex: Uint32Array.from(rows) },
    };
  };
  return { train: part(train, 'train'), test: part(test, 'test') };
}

/** Whether a data set carries MNIST-C's pattern: 28×28 grey bytes, what the corruptions draw on. */
export function patternFits(src: Pick<DataSource, 'sampleShape' | 'x'>): boolean {
  const [h, w, c] = src.sampleShape;
  return (
    src.sampleShape.length === 3 && h === 28 && w === 28 && c === 1 && src.x instanceof Uint8Array
  );
}

/** Refuses, in one line, a set the pattern cannot be drawn on (the page asks before a run). */
export function checkPatternFits(train: Pick<DataSource, 'name' | 'sampleShape' | 'x'>): void {
  if (patternFits(train)) return;
  const name = train.name.replace(/\/train$/, '');
  const floats = train.x instanceof Uint8Array ? '' : ' floats';
  throw new UsageError(
    'forget a pattern',
    `MNIST-C's stripe needs 28×28×1 byte images; ${name} is ${train.sampleShape.join('×')}${floats} (forget a class or samples instead)`,
  );
}

export interface RunSources {
  train: DataSource;
  test: DataSource;
  /**
   * The user's set rather than the served MNIST subset: its pixels are patterned only when the
   * pattern is what is forgotten (the MNIST demo always carries it, its bias scenario).
   */
  user?: boolean;
}

/** The training view a run trains on, and the grid shows (a clicked cell is that position). */
export function trainView(sources: RunSources, cfg: RunConfig): Dataset {
  const all = new Dataset(sources.train);
  return balancedSubset(all, Math.min(cfg.trainSize, all.length), cfg.seed, 'train');
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
  /** One sample's shape, for drawing `forgotten`. */
  sampleShape: number[];
  /** The first forgotten samples: model inputs × 255, rounded (bytes as stored), predictions. */
  forgotten: { pixels: number[]; label: number; before: number; after: number }[];
  /** Every forgotten sample by its row in the data's files (the served subset's or the user's). */
  forgetIds: number[];
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
  sources: RunSources,
  cfg: RunConfig,
  onStage: (s: Stage) => void = () => {},
): Promise<RunArtifacts> {
  const train0 = trainView(sources, cfg);
  const testAll = new Dataset(sources.test);
  const test0 = balancedSubset(testAll, Math.min(cfg.testSize, testAll.length), cfg.seed, 'test');
  // A pattern on the training data: the bias scenario's own planner and copies (src/data/scenarios).
  // The MNIST demo always carries it; a user's set only when the pattern is what is forgotten.
  const patterned = !sources.user || cfg.forget.kind === 'pattern';
  if (patterned) checkPatternFits(sources.train);
  const corruption = cfg.forget.kind === 'pattern' ? cfg.forget.corruption : 'stripe';
  const biasClass = cfg.forget.kind === 'pattern' ? cfg.forget.biasClass : 3;
  const ctx = {
    seed: cfg.seed,
    datasetId: sources.user ? 'user' : 'mnist',
    trainSource: sources.train,
    testSource: sources.test,
    train: train0,
    test: test0,
  };
  const plan = patterned ? planPatterned(ctx, corruption, biasClass, 0.9, 0.02, 0.5) : null;
  const parts = plan
    ? materialisePatterned(ctx, corruption, { patterned: plan.patterned } as never)
    : { train: train0, biasedTest: undefined };
  const train = parts.train;
  const at = new Map(Array.from(train0.sourceIndices(), (s, i) => [s, i]));
  const labels = train.labels();
  let forgetPos: number[];
  if (cfg.forget.kind === 'pattern') forgetPos = plan!.forget.map((s) => at.get(s)!);
  else if (cfg.forget.kind === 'class') {
    const k = cfg.forget.cls;
    forgetPos = Array.from(labels.keys()).filter((i) => labels[i] === k);
  } else forgetPos = [...cfg.forget.positions].sort((a, b) => a - b);
  if (forgetPos.length === 0) throw new Error('the deletion request selects no training sample');
  const inForget = new Set(forgetPos);
  const retainPos = Array.from(labels.keys()).filter((i) => !inForget.has(i));
  const forget = train.subset(forgetPos, 'forget');
  const retain = train.subset(retainPos, 'retain');
  const rowOf = sources.train.meta.sourceIndex;
  const forgetIds = forgetPos.map((p) => {
    const s = train0.at(p);
    return rowOf ? rowOf[s] : s;
  });
  onStage({
    stage: 'data',
    detail: `${train.length} train${plan ? ` (${plan.patterned?.train.length ?? 0} with ${corruption})` : ''}, ${forget.length} to forget`,
  });

  const shape = [...sources.train.sampleShape];
  const numClasses = sources.train.numClasses;
  // The CNN needs images of at least 10×10 (src/models/index.ts); anything else gets the MLP.
  const image = shape.length === 3 && shape[0] >= 10 && shape[1] >= 10;
  const spec =
    cfg.arch === 'mlp' || !image
      ? { arch: 'mlp' as const, inputShape: shape, numClasses, hidden: [32], seed: cfg.seed }
      : { arch: 'cnn' as const, inputShape: shape, numClasses, seed: cfg.seed };
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
        scenario: plan
          ? { kind: 'bias' as const, biasClass }
          : { kind: cfg.forget.kind === 'class' ? ('class' as const) : ('random' as const) },
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
      sampleShape: shape,
      forgotten,
      forgetIds,
      seconds: { train: round(trainSeconds), unlearn: round(unlearnMs / 1000) },
    },
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
