/** One valid record of each kind the run store keeps (a cell, a reference, a seed's scenario), for store tests. */
import {
  type Cell,
  CellSchema,
  type Reference,
  ReferenceSchema,
} from '../../src/experiments/results-schema.ts';
import { type SeedScenario, SeedScenarioSchema } from '../../src/experiments/store.ts';

export const METRICS = {
  values: { ua: { value: 0.75 }, ra: { value: 0.5 }, mia: { value: null, reason: 'n/a' } },
  notApplicable: { 'mia-loss-lr': 'needs logits' },
  notes: { ua: { sizes: { forget: 24 } } },
  details: {
    perClassTestAccuracy: [1, 0.5, null],
    perClassForgetAccuracy: [null, 0, 1],
    testConfusion: [
      [3, 0, 1],
      [0, 2, 0],
      [1, 0, 4],
    ],
  },
};

export const COST = {
  timeMs: 12.5,
  speedUp: 3.2,
  gradEvals: 40,
  forwardEvals: 80,
  epochsTouched: 1,
  phases: { train: 10 },
};

export function sampleCell(over: Partial<Cell> = {}): Cell {
  return CellSchema.parse({
    scenario: 'random-20pct',
    seed: 1,
    method: 'ft',
    methodId: 'ft',
    params: { epochs: 1, lr: 0.01 },
    key: 'a'.repeat(64),
    status: 'ok',
    metrics: METRICS,
    retrain: { ua: { value: 0.8 } },
    cost: COST,
    details: {},
    finishedAt: '2024-06-07T00:00:00.000Z',
    ...over,
  });
}

export function sampleReference(over: Partial<Reference> = {}): Reference {
  return ReferenceSchema.parse({
    scenario: 'random-20pct',
    seed: 1,
    role: 'original',
    cacheKey: 'b'.repeat(64),
    metrics: METRICS,
    cost: COST,
    ...over,
  });
}

export function sampleSeedScenario(over: Partial<SeedScenario> = {}): SeedScenario {
  return SeedScenarioSchema.parse({
    scenario: 'random-20pct',
    seed: 1,
    manifestHash: 'c'.repeat(64),
    counts: { train: 96, forget: 24, retain: 72, test: 60 },
    sampleShape: [28, 28, 1],
    numClasses: 10,
    forgetExamples: [{ label: 3, png: 'data:image/png;base64,iVBORw0KGgo=' }],
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    ...over,
  });
}
