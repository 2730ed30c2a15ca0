/**
 * `uib train`: train a model on a class-balanced seeded subset of a dataset with the standard
 * recipe, print per-epoch metrics on the test split, and write a checkpoint.
 *
 *   uib train --dataset mnist --model cnn --out runs/cnn
 *   uib train --dataset mnist --model mlp --subset 10000 --epochs 10 --lr 1e-3 --seed 1 --out runs/mlp
 *   uib train --scenario s.json --model cnn --cache-fisher --out runs/cnn
 *
 * `--scenario`: train on the manifest's training set (ΔD included) and record the manifest's hash,
 * which `uib unlearn` compares with the scenario it is given. `--cache-fisher`: F_D at the trained
 * weights, written into the same atomic checkpoint directory (a kill leaves no cache or a valid one).
 */
import type { Command } from 'commander';
import { initBackend } from '../../backend/index.ts';
import { writeDirAtomic } from '../../core/atomic.ts';
import { UsageError } from '../../core/errors.ts';
import { sha256Json } from '../../core/hash.ts';
import { checkOutput, claimOutput, type OutputOptions } from '../../core/out-dir.ts';
import { rngFor } from '../../core/rng.ts';
import { Dataset } from '../../data/dataset.ts';
import { viewDigest } from '../../data/digest.ts';
import { DATASET_IDS, datasetInfo, loadDataset } from '../../data/registry.ts';
import { materialiseScenario, readManifest } from '../../data/scenarios/index.ts';
import { balancedSubset } from '../../data/subset.ts';
import { saveCheckpoint } from '../../models/checkpoint.ts';
import { ARCHITECTURES, buildModel, countParams } from '../../models/index.ts';
import type { Architecture, ModelSpec } from '../../models/types.ts';
import { CostCounter } from '../../train/cost.ts';
import { evaluate } from '../../train/evaluate.ts';
import { SCHEDULES } from '../../train/schedules.ts';
import { defaultRecipe, trainModel } from '../../train/train.ts';
import {
  OPTIMIZER_NAMES,
  type OptimizerName,
  type ScheduleName,
  type TrainRecipe,
} from '../../train/types.ts';
import { writeTrainingFisherCache } from '../../unlearn/uib/fisher-cache.ts';
import { backendOption, choiceOption, floatOption, intOption, seedOption } from '../options.ts';

export interface TrainFlags {
  /** Default mnist; not with `scenario`, which names its own data. */
  dataset?: string;
  /** A scenario manifest: train on its training set and record its hash. */
  scenario?: string;
  /** Write F_D (the training set's diagonal Fisher at the trained weights) into the checkpoint. */
  cacheFisher?: boolean;
  dataDir?: string;
  model: Architecture;
  out?: string;
  /** Default: 10 000, or the whole split when it is smaller. */
  subset?: number;
  testSize?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: OptimizerName;
  schedule?: ScheduleName;
  weightDecay?: number;
  width?: number;
  seed: number;
  backend?: string;
  quiet?: boolean;
  /** Replace a trained checkpoint already at `out` (never anything else). */
  force?: boolean;
}

/** The recipe: the architecture's default with the flags given laid over it. */
export function recipeFromFlags(f: TrainFlags): TrainRecipe {
  const base = defaultRecipe(f.model, f.seed);
  const optimizer = { ...base.optimizer };
  if (f.optimizer) optimizer.name = f.optimizer;
  if (f.lr !== undefined) optimizer.lr = f.lr;
  if (f.schedule) optimizer.schedule = f.schedule;
  if (f.weightDecay !== undefined) optimizer.weightDecay = f.weightDecay;
  return {
    optimizer,
    epochs: f.epochs ?? base.epochs,
    batchSize: f.batchSize ?? base.batchSize,
    seed: f.seed,
  };
}

/** The training and test sets: a scenario's, or a seeded class-balanced subset of a dataset's. */
function trainingData(f: TrainFlags): {
  datasetId: string;
  train: Dataset;
  testAll: Dataset;
  scenarioHash?: string;
  /** The training set's samples and labels in order (a manifest's inputsHash.train). */
  trainSetSha256: string;
} {
  if (f.scenario) {
    for (const [flag, given] of [
      ['--dataset', f.dataset],
      ['--data-dir', f.dataDir],
      ['--subset', f.subset],
    ] as const) {
      if (given !== undefined)
        throw new UsageError(flag, `not with --scenario, whose manifest fixes the data; got both`);
    }
    // The same path as `uib unlearn`: read, rebuild (hash-checked), hash the manifest.
    const manifest = readManifest(f.scenario);
    const scenario = materialiseScenario(manifest, f.scenario);
    return {
      datasetId: manifest.dataset.id,
      train: scenario.train,
      testAll: scenario.test,
      scenarioHash: sha256Json(manifest),
      trainSetSha256: manifest.inputsHash.train,
    };
  }
  const info = datasetInfo(f.dataset ?? 'mnist');
  const trainAll = new Dataset(loadDataset(info.id, 'train', { dir: f.dataDir }));
  const subset = f.subset ?? Math.min(10000, trainAll.length);
  if (subset > trainAll.length) {
    throw new UsageError(
      '--subset',
      `must be at most the ${trainAll.length} training samples of ${info.id}; got ${subset}`,
    );
  }
  const train =
    subset === trainAll.length
      ? trainAll
      : balancedSubset(trainAll, subset, f.seed, `${info.id}/train[${subset}]`);
  const testAll = new Dataset(loadDataset(info.id, 'test', { dir: f.dataDir }));
  return { datasetId: info.id, train, testAll, trainSetSha256: viewDigest(train) };
}

export async function runTrain(f: TrainFlags): Promise<void> {
  if (!f.out) throw new UsageError('--out', 'required: the checkpoint directory to write');
  if (f.dataset !== undefined && !f.scenario) datasetInfo(f.dataset); // unknown id: fail first
  if (f.width !== undefined && f.model !== 'resnet18') {
    throw new UsageError('--width', `applies to --model resnet18 only; got --model ${f.model}`);
  }
  const outOpts: OutputOptions = {
    kind: 'checkpoint',
    force: f.force,
    inputs: { '--scenario': f.scenario, '--data-dir': f.dataDir },
  };
  const release = claimOutput(f.out, outOpts);
  try {
    await trainAndSave(f, f.out, outOpts);
  } finally {
    release();
  }
}

async function trainAndSave(f: TrainFlags, out: string, outOpts: OutputOptions): Promise<void> {
  const backend = await initBackend(f.backend);
  const { datasetId, train, testAll, scenarioHash, trainSetSha256 } = trainingData(f);
  const test =
    f.testSize === undefined || f.testSize >= testAll.length
      ? testAll
      : balancedSubset(testAll, f.testSize, f.seed, `${datasetId}/test[${f.testSize}]`);

  const spec: ModelSpec = {
    arch: f.model,
    inputShape: [...train.sampleShape],
    numClasses: train.numClasses,
    seed: f.seed,
    ...(f.width !== undefined && { width: f.width }),
  };
  const recipe = recipeFromFlags(f);
  const model = buildModel(spec);
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(
    `uib train: ${f.model} (${countParams(model)} params) on ${train.name} (${train.length}), test ${test.length}, ` +
      `${recipe.optimizer.name} lr ${recipe.optimizer.lr} ${recipe.optimizer.schedule ?? 'constant'}, ` +
      `batch ${recipe.batchSize}, ${recipe.epochs} epochs, backend ${backend}`,
  );

  const cost = new CostCounter();
  const metrics: {
    epoch: number;
    trainLoss: number;
    testLoss: number;
    testAccuracy: number;
    timeMs: number;
  }[] = [];
  let trainMs = 0;
  let mark = performance.now();
  const result = await trainModel(model, train, recipe, {
    cost,
    quiet: f.quiet,
    label: `${f.model}`,
    onEpochEnd: async (epoch, trainLoss) => {
      trainMs += performance.now() - mark;
      const ev = await evaluate(model, test, 500);
      metrics.push({
        epoch: epoch + 1,
        trainLoss,
        testLoss: ev.loss,
        testAccuracy: ev.accuracy,
        timeMs: trainMs,
      });
      say(
        `epoch ${epoch + 1}/${Math.ceil(recipe.epochs)}  train loss ${trainLoss.toFixed(4)}  ` +
          `test loss ${ev.loss.toFixed(4)}  test acc ${(100 * ev.accuracy).toFixed(2)} %  (${(trainMs / 1000).toFixed(1)} s)`,
      );
      mark = performance.now();
      return undefined;
    },
  });
  const last = metrics[metrics.length - 1];
  const info = {
    spec,
    recipe,
    metrics: {
      testAccuracy: last.testAccuracy,
      testLoss: last.testLoss,
      trainLoss: last.trainLoss,
      trainTimeMs: trainMs,
    },
    ...(scenarioHash && { scenarioHash }),
    trainSetSha256,
    label: 'uib train',
    extra: {
      dataset: datasetId,
      ...(f.scenario ? { scenario: f.scenario } : { subsetSeed: f.seed }),
      subset: train.length,
      testSize: test.length,
      backend,
      steps: result.steps,
      gradEvals: cost.gradEvals,
      history: metrics,
    },
  };
  let fisherMs: number | undefined;
  // Checkpoint and cache are swapped in together: a kill leaves the old directory or both. What
  // is at --out is checked again just before the swap (another process may have written there).
  await writeDirAtomic(
    out,
    async (tmp) => {
      await saveCheckpoint(tmp, model, info);
      if (f.cacheFisher)
        fisherMs = writeTrainingFisherCache(tmp, model, train, {
          rng: rngFor(f.seed, 'train', 'fisher'),
        });
    },
    { beforeSwap: () => checkOutput(out, outOpts) },
  );
  const fisher = fisherMs === undefined ? '' : `, F_D cached in ${(fisherMs / 1000).toFixed(1)} s`;
  say(
    `saved ${out}  (test accuracy ${(100 * last.testAccuracy).toFixed(2)} %, ${(trainMs / 1000).toFixed(1)} s training${fisher})`,
  );
  model.dispose();
}

export function register(program: Command): void {
  program
    .command('train')
    .description(
      'train a model (standard recipe) on a seeded class-balanced subset and write a checkpoint',
    )
    .option('--dataset <id>', `dataset: ${DATASET_IDS.join(', ')} (default mnist)`)
    .option('--data-dir <dir>', 'directory of the data files (datasets that need one)')
    .option(
      '--scenario <manifest>',
      'train on this scenario manifest’s training set (uib scenario) and record its hash',
    )
    .option(
      '--cache-fisher',
      'write F_D (diagonal Fisher over the training set) into the checkpoint, for uib-if',
    )
    .option(
      '--model <arch>',
      `architecture: ${ARCHITECTURES.join(', ')}`,
      choiceOption('--model', ARCHITECTURES),
      'cnn',
    )
    .option(
      '--out <dir>',
      'checkpoint directory to write (model.json, weights.bin, metadata.json); new or empty',
    )
    .option('--force', 'replace a trained checkpoint already at --out (nothing else)')
    .option(
      '--subset <n>',
      'training samples (class-balanced, seeded; default 10000, or all if fewer)',
      intOption('--subset', { min: 1 }),
    )
    .option(
      '--test-size <n>',
      'test samples to evaluate on (default: the whole test split)',
      intOption('--test-size', { min: 1 }),
    )
    .option(
      '--epochs <n>',
      'epochs (may be fractional; default per model)',
      floatOption('--epochs', { min: 0, exclusiveMin: true, max: 1000 }),
    )
    .option(
      '--batch-size <n>',
      'batch size (default 64)',
      intOption('--batch-size', { min: 1, max: 65536 }),
    )
    .option(
      '--lr <x>',
      'peak learning rate (default per model)',
      floatOption('--lr', { min: 0, exclusiveMin: true, max: 10 }),
    )
    .option(
      '--optimizer <name>',
      'sgd or adam (default adam)',
      choiceOption('--optimizer', OPTIMIZER_NAMES),
    )
    .option(
      '--schedule <name>',
      `learning-rate schedule: ${SCHEDULES.join(', ')} (default cosine)`,
      choiceOption('--schedule', SCHEDULES),
    )
    .option(
      '--weight-decay <x>',
      'decoupled weight decay (default per model)',
      floatOption('--weight-decay', { min: 0, max: 1 }),
    )
    .option(
      '--width <n>',
      'ResNet-18 base width (default 8; 64 in the original)',
      intOption('--width', { min: 1, max: 512 }),
    )
    .addOption(seedOption('seed of the subset, the weights and the shuffling', 0))
    .addOption(backendOption())
    .option('--quiet', 'no progress bar')
    .action(async (flags: TrainFlags) => runTrain(flags));
}
