/**
 * `uib scenario`: build a forget scenario and write its manifest; `uib scenario show` prints its
 * counts and draws example images.
 *
 *   uib scenario --dataset mnist --kind bias --corruption fog --class 3 --rho 0.9 --seed 1 --out s.json
 *   uib scenario show s.json --png grid.png
 */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.ts';
import { checkOutputFile } from '../../core/out-dir.ts';
import { readFileChecked } from '../../core/read.ts';
import { DATASET_IDS, DATASETS } from '../../data/registry.ts';
import {
  createScenario,
  materialiseScenario,
  readManifest,
  SCENARIO_KINDS,
  writeManifest,
} from '../../data/scenarios/index.ts';
import {
  PATTERN_NAMES,
  type ScenarioKindId,
  type ScenarioParams,
  SHORTCUT_ATTRIBUTES,
} from '../../data/scenarios/manifest.ts';
import { describeScenario, writeScenarioGrid } from '../../data/scenarios/show.ts';
import { choiceOption, floatOption, intOption, seedOption } from '../options.ts';

interface Flags {
  dataset: string;
  dataDir?: string;
  kind?: ScenarioKindId;
  seed: number;
  out?: string;
  force?: boolean;
  trainSize?: number;
  testSize?: number;
  subsetSeed?: number;
  forgetFraction?: number;
  class?: number;
  corruption?: string;
  rho?: number;
  q?: number;
  testFraction?: number;
  testRho?: number;
  poisonFraction?: number;
  target?: number;
  group?: string;
  value?: string;
  spuriousRho?: number;
  attribute?: string;
  alignedFraction?: number;
  testAlignedFraction?: number;
}

type KindFlag = Exclude<
  keyof Flags,
  | 'dataset'
  | 'dataDir'
  | 'kind'
  | 'seed'
  | 'out'
  | 'force'
  | 'trainSize'
  | 'testSize'
  | 'subsetSeed'
>;

/** The flags each kind takes; any other kind flag given is an error, so none is silently ignored. */
const KIND_FLAGS: Record<ScenarioKindId, readonly KindFlag[]> = {
  random: ['forgetFraction'],
  class: ['class'],
  pattern: ['corruption', 'class', 'rho', 'testFraction'],
  bias: ['corruption', 'class', 'rho', 'q', 'testFraction'],
  colour: ['rho', 'testRho', 'class'],
  backdoor: ['poisonFraction', 'target'],
  subgroup: ['group', 'value', 'spuriousRho'],
  shortcut: ['attribute', 'class', 'alignedFraction', 'testAlignedFraction'],
};

const flagName = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function need<T>(f: Flags, key: KindFlag, kind: string): T {
  const v = f[key];
  if (v === undefined) throw new UsageError(flagName(key), `required for --kind ${kind}`);
  return v as T;
}

/** Flags → validated scenario parameters (with each kind's defaults). */
export function scenarioParams(f: Flags): ScenarioParams {
  const kind = f.kind;
  if (!kind) throw new UsageError('--kind', `required; one of ${SCENARIO_KINDS.join(', ')}`);
  for (const key of Object.keys(KIND_FLAGS) as ScenarioKindId[]) {
    for (const flag of KIND_FLAGS[key]) {
      if (f[flag] !== undefined && !KIND_FLAGS[kind].includes(flag)) {
        const takes = KIND_FLAGS[kind].map(flagName).join(', ');
        throw new UsageError(
          flagName(flag),
          `does not apply to --kind ${kind} (it takes ${takes})`,
        );
      }
    }
  }
  switch (kind) {
    case 'random':
      return { kind, forgetFraction: need(f, 'forgetFraction', kind) };
    case 'class':
      return { kind, forgetClass: need(f, 'class', kind) };
    case 'pattern':
      return {
        kind,
        corruption: need(f, 'corruption', kind),
        forgetClass: need(f, 'class', kind),
        rho: f.rho ?? 0.5,
        testFraction: f.testFraction ?? 0.5,
      };
    case 'bias':
      return {
        kind,
        corruption: need(f, 'corruption', kind),
        biasClass: need(f, 'class', kind),
        rho: f.rho ?? 0.9,
        q: f.q ?? 0.01,
        testFraction: f.testFraction ?? 0.5,
      };
    case 'colour':
      return { kind, rho: f.rho ?? 0.99, testRho: f.testRho ?? 0.1, forgetClass: f.class ?? null };
    case 'backdoor':
      return {
        kind,
        poisonFraction: f.poisonFraction ?? 0.05,
        targetClass: need(f, 'target', kind),
      };
    case 'subgroup':
      return {
        kind,
        group: need(f, 'group', kind),
        value: need(f, 'value', kind),
        spuriousRho: f.spuriousRho ?? null,
      };
    case 'shortcut':
      return {
        kind,
        attribute: f.attribute ?? 'colour',
        biasClass: need(f, 'class', kind),
        alignedFraction: f.alignedFraction ?? 0.995,
        testAlignedFraction: f.testAlignedFraction ?? 0.5,
      };
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('scenario')
    .description(
      'build a forget scenario and write its manifest (JSON); `scenario show FILE` inspects one',
    )
    .option(
      '--dataset <id>',
      `data set: ${DATASETS.map((d) => d.id).join(', ')}`,
      choiceOption('--dataset', DATASET_IDS),
      'mnist',
    )
    .option(
      '--data-dir <dir>',
      'directory of the data files (CIFAR; overrides the default elsewhere)',
    )
    .option(
      '--kind <kind>',
      `scenario kind: ${SCENARIO_KINDS.join(', ')}`,
      choiceOption('--kind', SCENARIO_KINDS),
    )
    .addOption(seedOption('seed of every random choice', 0))
    .option('--out <file>', 'manifest to write (atomically; a new path)')
    .option('--force', 'replace a scenario manifest already at --out (nothing else)')
    .option(
      '--train-size <n>',
      'class-balanced training subset (default: all)',
      intOption('--train-size', { min: 1 }),
    )
    .option(
      '--test-size <n>',
      'class-balanced test subset (default: all)',
      intOption('--test-size', { min: 1 }),
    )
    .option(
      '--subset-seed <n>',
      'seed of the subsets (default: --seed)',
      intOption('--subset-seed', { min: 0, max: 2 ** 32 - 1 }),
    )
    .option(
      '--forget-fraction <f>',
      'random: fraction forgotten, in (0, 1)',
      floatOption('--forget-fraction', { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }),
    )
    .option(
      '--class <k>',
      'class: forgotten class; pattern/bias: class tied to the pattern; colour: forget only its aligned samples; shortcut: the class whose aligned samples are forgotten',
      intOption('--class', { min: 0 }),
    )
    .option(
      '--corruption <c>',
      `pattern/bias: ${PATTERN_NAMES.join(', ')}`,
      choiceOption('--corruption', PATTERN_NAMES),
    )
    .option(
      '--rho <f>',
      'pattern/bias: share of class k patterned (0.5 / 0.9); colour: share colour-aligned (0.99)',
      floatOption('--rho', { min: 0, max: 1, exclusiveMin: true }),
    )
    .option(
      '--q <f>',
      'bias: share of the other classes patterned (0.01)',
      floatOption('--q', { min: 0, max: 1, exclusiveMax: true }),
    )
    .option(
      '--test-fraction <f>',
      'pattern/bias: share of the biased test set patterned (0.5)',
      floatOption('--test-fraction', { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }),
    )
    .option(
      '--test-rho <f>',
      'colour: colour-aligned share of the test set (0.1)',
      floatOption('--test-rho', { min: 0, max: 1, exclusiveMin: true }),
    )
    .option(
      '--attribute <a>',
      `shortcut: the bias, colour (default) or a pattern: ${PATTERN_NAMES.join(', ')}`,
      choiceOption('--attribute', SHORTCUT_ATTRIBUTES),
    )
    .option(
      '--aligned-fraction <f>',
      'shortcut: bias-aligned share of every training class (0.995)',
      floatOption('--aligned-fraction', { min: 0, max: 1, exclusiveMin: true }),
    )
    .option(
      '--test-aligned-fraction <f>',
      'shortcut: bias-aligned share of every test class (0.5)',
      floatOption('--test-aligned-fraction', {
        min: 0,
        max: 1,
        exclusiveMin: true,
        exclusiveMax: true,
      }),
    )
    .option(
      '--poison-fraction <f>',
      'backdoor: share of the training set stamped (0.05)',
      floatOption('--poison-fraction', { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }),
    )
    .option('--target <t>', 'backdoor: target class', intOption('--target', { min: 0 }))
    .option(
      '--group <g>',
      'subgroup: grouping (cps-wages: gender, race; german-credit: sex, age, foreign-worker)',
    )
    .option('--value <v>', 'subgroup: the group value forgotten (e.g. female)')
    .option(
      '--spurious-rho <f>',
      'subgroup: add a column equal to the label with this probability in the subgroup',
      floatOption('--spurious-rho', { min: 0, max: 1, exclusiveMin: true }),
    )
    .action((f: Flags) => {
      if (!f.out) throw new UsageError('--out', 'required: the manifest file to write');
      const isManifest = (file: string) => {
        try {
          readManifest(file);
          return true;
        } catch {
          return false;
        }
      };
      checkOutputFile(f.out, { what: 'a scenario manifest', force: f.force, isOurs: isManifest });
      const m = createScenario({
        dataset: f.dataset,
        dataDir: f.dataDir ?? null,
        seed: f.seed,
        trainSize: f.trainSize ?? null,
        testSize: f.testSize ?? null,
        subsetSeed: f.subsetSeed,
        scenario: scenarioParams(f),
      });
      // Checked again: the data may have taken a while to load and hash.
      checkOutputFile(f.out, { what: 'a scenario manifest', force: f.force, isOurs: isManifest });
      writeManifest(f.out, m);
      const c = m.counts;
      process.stdout.write(
        `wrote ${f.out}: ${m.scenario.kind} on ${m.dataset.id}, train ${c.train} (forget ${c.forget}, retain ${c.retain}), test ${c.test}\n`,
      );
    });
  cmd
    .command('show <file>')
    .description('print counts per class / group / split; --png draws example images')
    .option(
      '--png <file>',
      'write a PNG grid: one row each of forget, retain, test (and biased/trigger test) images',
    )
    .action((file: string, o: { png?: string }) => {
      // A PNG uib drew before is redrawn; any other file is the user's.
      const isPng = (p: string) => {
        try {
          const head = readFileChecked(p, { maxBytes: 64 << 20 }).subarray(0, 8);
          return head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        } catch {
          return false;
        }
      };
      if (o.png)
        checkOutputFile(o.png, { what: 'a PNG image', force: true, flag: '--png', isOurs: isPng });
      const s = materialiseScenario(readManifest(file), file);
      process.stdout.write(`${describeScenario(s)}\n`);
      if (o.png) {
        const rows = writeScenarioGrid(s, o.png);
        process.stdout.write(`wrote ${o.png}: rows ${rows.join(', ')}\n`);
      }
    });
  for (const sub of cmd.commands) sub.exitOverride();
}
