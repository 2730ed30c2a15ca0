/**
 * `uib train`: train a model on a class-balanced seeded subset of a dataset with the standard
 * recipe, print per-epoch metrics on the test split, and write a checkpoint.
 *
 *   uib train --dataset mnist --model cnn --out runs/cnn
 *   uib train --dataset mnist --model mlp --subset 10000 --epochs 10 --lr 1e-3 --seed 1 --out runs/mlp
 */
import type { Command } from 'commander';
import { initBackend, parseBackendName } from '../../backend/index.ts';
import { UsageError } from '../../core/errors.ts';
import { Dataset } from '../../data/dataset.ts';
import { DATASET_IDS, datasetInfo, loadDataset } from '../../data/registry.ts';
import { balancedSubset } from '../../data/subset.ts';
import { saveCheckpoint } from '../../models/checkpoint.ts';
import { ARCHITECTURES, buildModel, countParams } from '../../models/index.ts';
import type { Architecture, ModelSpec } from '../../models/types.ts';
import { CostCounter } from '../../train/cost.ts';
import { evaluate } from '../../train/evaluate.ts';
import { SCHEDULES } from '../../train/schedules.ts';
import { defaultRecipe, trainModel } from '../../train/train.ts';
import type { ScheduleName, TrainRecipe } from '../../train/types.ts';
import { choiceOption, floatOption, intOption } from '../options.ts';

export interface TrainFlags {
  dataset: string;
  dataDir?: string;
  model: Architecture;
  out?: string;
  /** Default: 10 000, or the whole split when it is smaller. */
  subset?: number;
  testSize?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: 'sgd' | 'adam';
  schedule?: ScheduleName;
  weightDecay?: number;
  width?: number;
  seed: number;
  backend?: string;
  quiet?: boolean;
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

export async function runTrain(f: TrainFlags): Promise<void> {
  if (!f.out) throw new UsageError('--out', 'required: the checkpoint directory to write');
  const info = datasetInfo(f.dataset);
  if (f.width !== undefined && f.model !== 'resnet18') {
    throw new UsageError('--width', `applies to --model resnet18 only; got --model ${f.model}`);
  }
  const backend = await initBackend(f.backend);
  const trainAll = new Dataset(loadDataset(info.id, 'train', { dir: f.dataDir }));
  const testAll = new Dataset(loadDataset(info.id, 'test', { dir: f.dataDir }));
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
  const test =
    f.testSize === undefined || f.testSize >= testAll.length
      ? testAll
      : balancedSubset(testAll, f.testSize, f.seed, `${info.id}/test[${f.testSize}]`);

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
  await saveCheckpoint(f.out, model, {
    spec,
    recipe,
    metrics: {
      testAccuracy: last.testAccuracy,
      testLoss: last.testLoss,
      trainLoss: last.trainLoss,
      trainTimeMs: trainMs,
    },
    extra: {
      dataset: info.id,
      subset: train.length,
      subsetSeed: f.seed,
      testSize: test.length,
      backend,
      steps: result.steps,
      gradEvals: cost.gradEvals,
      history: metrics,
    },
  });
  say(
    `saved ${f.out}  (test accuracy ${(100 * last.testAccuracy).toFixed(2)} %, ${(trainMs / 1000).toFixed(1)} s training)`,
  );
  model.dispose();
}

export function register(program: Command): void {
  program
    .command('train')
    .description(
      'train a model (standard recipe) on a seeded class-balanced subset and write a checkpoint',
    )
    .option('--dataset <id>', `dataset: ${DATASET_IDS.join(', ')}`, 'mnist')
    .option('--data-dir <dir>', 'directory of the data files (datasets that need one)')
    .option(
      '--model <arch>',
      `architecture: ${ARCHITECTURES.join(', ')}`,
      choiceOption('--model', ARCHITECTURES),
      'cnn',
    )
    .option('--out <dir>', 'checkpoint directory to write (model.json, weights.bin, metadata.json)')
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
      choiceOption('--optimizer', ['sgd', 'adam'] as const),
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
    .option(
      '--seed <n>',
      'seed of the subset, the weights and the shuffling',
      intOption('--seed', { min: 0, max: 0xffffffff }),
      0,
    )
    .option(
      '--backend <name>',
      'compute backend: wasm, cpu, webgpu, tensorflow (default: $UIB_BACKEND, else wasm)',
      (v) => parseBackendName(v),
    )
    .option('--quiet', 'no progress bar')
    .action(async (flags: TrainFlags) => runTrain(flags));
}
