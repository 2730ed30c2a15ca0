/**
 * A hand-made results object: one bias scenario, 3 seeds, Retrain / original references and three
 * methods with known values, so the tables' means, intervals and best marks can be checked by hand.
 */
import { imageToPngDataUri } from '../../src/experiments/report/png.ts';
import type {
  Cell,
  MetricInfo,
  Reference,
  Results,
  StoredEvalRecord,
} from '../../src/experiments/results-schema.ts';

/** Range of a probability or rate, as the registry declares it. */
const P = { min: 0, max: 1 } as const;

export const METRIC_INFO: MetricInfo[] = [
  { id: 'ua', summary: 'unlearning accuracy', direction: 'match-retrain', unit: 'fraction', ...P },
  { id: 'ra', summary: 'remaining accuracy', direction: 'match-retrain', unit: 'fraction', ...P },
  { id: 'ta', summary: 'test accuracy', direction: 'match-retrain', unit: 'fraction', ...P },
  { id: 'mia-efficacy', summary: 'MIA', direction: 'match-retrain', unit: 'fraction', ...P },
  {
    id: 'bias-correlation',
    summary: 'phi',
    direction: 'match-retrain',
    unit: 'correlation',
    min: -1,
    max: 1,
  },
  { id: 'bias-recall', summary: 'recall(k)', direction: 'match-retrain', unit: 'fraction', ...P },
  { id: 'js-test', summary: 'JS test', direction: 'lower', unit: 'bits', ...P },
  { id: 'avg-gap', summary: 'Avg. Gap', direction: 'lower', unit: 'pp', min: 0, max: 100 },
  { id: 'time-ms', summary: 'time', direction: 'lower', unit: 'ms', min: 0 },
  { id: 'speed-up', summary: 'speed-up', direction: 'higher', unit: 'ratio', min: 0 },
  { id: 'grad-evals', summary: 'grad evals', direction: 'lower', unit: 'count', min: 0 },
];

type Vals = Record<string, number | null>;

function record(vals: Vals, perClass: number[]): StoredEvalRecord {
  const values: StoredEvalRecord['values'] = {};
  for (const [k, v] of Object.entries(vals))
    values[k] = v === null ? { value: null, reason: 'ŷ = k is constant' } : { value: v };
  return {
    values,
    notApplicable: { asr: 'no trigger-stamped test set' },
    notes: {},
    details: {
      perClassTestAccuracy: perClass,
      perClassForgetAccuracy: perClass,
      testConfusion: [],
    },
  };
}

const SEEDS = [1, 2, 3];
/** Per row, per seed (index 0..2). */
const VALUES: Record<string, Vals[]> = {
  retrain: [0, 1, 2].map((i) => ({
    ua: 0.1 + 0.01 * i, // mean 0.11
    ra: 0.99,
    ta: 0.97,
    'mia-efficacy': 0.2,
    'bias-correlation': -0.2,
    'bias-recall': 0.9,
    'time-ms': 10000 + 1000 * i,
    'speed-up': 1,
    'grad-evals': 60000,
  })),
  original: [0, 1, 2].map(() => ({
    ua: 0.0,
    ra: 0.995,
    ta: 0.975,
    'mia-efficacy': 0.05,
    'bias-correlation': 0.5,
    'bias-recall': 0.95,
    'js-test': 0.05,
    'avg-gap': 8,
  })),
  ft: [0, 1, 2].map((i) => ({
    ua: 0.02, // |0.02 − 0.11| = 0.09
    ra: 0.98 + 0.005 * i, // mean 0.985 (best RA)
    ta: 0.96,
    'mia-efficacy': 0.1,
    'bias-correlation': 0.3,
    'bias-recall': 0.92,
    'js-test': 0.02,
    'avg-gap': 5,
    'time-ms': 1000,
    'speed-up': 10.5,
    'grad-evals': 6000,
  })),
  ga: [0, 1, 2].map((i) => ({
    ua: 0.5, // far from Retrain
    ra: 0.7,
    ta: 0.68,
    'mia-efficacy': 0.6,
    'bias-correlation': i === 0 ? null : -0.1, // one seed undefined
    'bias-recall': 0.1,
    'js-test': 0.3,
    'avg-gap': 30,
    'time-ms': 200, // fastest
    'speed-up': 52.5,
    'grad-evals': 600,
  })),
  'uib-if': [0, 1, 2].map(() => ({
    ua: 0.12, // closest to 0.11
    ra: 0.98,
    ta: 0.97, // best TA
    'mia-efficacy': 0.22,
    'bias-correlation': -0.19,
    'bias-recall': 0.93, // the highest recall; ft's 0.92 is closer to Retrain's 0.9
    'js-test': 0.01,
    'avg-gap': 1,
    'time-ms': 800,
    'speed-up': 13.1,
    'grad-evals': 5000,
  })),
};

function perClassOf(label: string): number[] {
  const base = label === 'ga' ? 0.6 : 0.97;
  return Array.from({ length: 10 }, (_, c) => (c === 3 ? base - 0.1 : base));
}

function grey(i: number): string {
  const px = new Float32Array(28 * 28);
  for (let r = 0; r < 28; r++)
    for (let c = 0; c < 28; c++) px[r * 28 + c] = (r + c + i) % 7 === 0 ? 1 : 0;
  return imageToPngDataUri(px, [28, 28, 1]);
}

export function handMadeResults(): Results {
  const references: Reference[] = [];
  const cells: Cell[] = [];
  SEEDS.forEach((seed, i) => {
    for (const role of ['original', 'retrain'] as const) {
      references.push({
        scenario: 'bias-stripe-3',
        seed,
        role,
        member: 0,
        cacheKey: `${role}-${seed}`,
        metrics: record(VALUES[role][i], perClassOf(role)),
        cost: {
          timeMs: 10000,
          speedUp: 1,
          gradEvals: 60000,
          forwardEvals: 0,
          epochsTouched: 3,
          phases: {},
        },
      });
    }
    for (const method of ['ft', 'ga', 'uib-if']) {
      cells.push({
        scenario: 'bias-stripe-3',
        seed,
        method,
        methodId: method,
        params: { epochs: 1 },
        key: `${method}-${seed}`,
        status: 'ok',
        metrics: record(VALUES[method][i], perClassOf(method)),
        retrain: record(VALUES.retrain[i], []).values,
        cost: {
          timeMs: 1000,
          speedUp: 10,
          gradEvals: 6000,
          forwardEvals: 0,
          epochsTouched: 1,
          phases: {},
        },
        details: { note: 'hand-made' },
        finishedAt: '2025-01-01T00:00:00.000Z',
      });
    }
  });
  return {
    schemaVersion: 1,
    experiment: { name: 'hand-made', description: 'A hand-made results object for report tests.' },
    experimentHash: 'x',
    environment: {
      uibVersion: '0.1.0',
      backend: 'cpu',
      route: 'cpu',
      threads: 1,
      addon: false,
      tfjs: '4.22.0',
      node: 'v20',
      platform: 'linux',
      cpus: 2,
    },
    startedAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:10:00.000Z',
    complete: true,
    metrics: METRIC_INFO,
    scenarios: [
      {
        id: 'bias-stripe-3',
        params: {
          kind: 'bias',
          corruption: 'stripe',
          biasClass: 3,
          rho: 0.9,
          q: 0.02,
          testFraction: 0.5,
        },
        seeds: SEEDS.map((seed) => ({
          seed,
          manifestHash: 'h',
          counts: { train: 1000, forget: 90, retain: 910, test: 500 },
        })),
        forgetExamples: [0, 1, 2, 3].map((i) => ({ label: 3, png: grey(i) })),
        classNames: Array.from({ length: 10 }, (_, c) => String(c)),
      },
    ],
    references,
    methods: ['retrain', 'ft', 'ga', 'uib-if'],
    cells,
  };
}
