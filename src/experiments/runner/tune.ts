/**
 * The tuning protocol's hookup (tuning.ts plans and chooses): its trials run as cells of a
 * development run, in a store of their own, before the reported cells; the choice goes to tuning.json.
 */
import * as path from 'node:path';
import { writeJsonAtomic } from '../../core/atomic.ts';
import { AVG_GAP_METRICS } from '../../eval/distance.ts';
import type { Cell, TuningSummary } from '../results-schema.ts';
import type { Experiment } from '../schema.ts';
import { RunStore } from '../store.ts';
import {
  allTrials,
  chooseTrials,
  type MethodPlan,
  ruleMetric,
  type TuningPlan,
} from '../tuning.ts';
import type { SeedScenarioJob } from './plan.ts';
import { runSeedScenarios } from './scenario.ts';

export interface DevelopmentRun {
  exp: Experiment;
  metricIds: string[];
  /** Units of work per (seed, scenario), for the progress bar. */
  perSeed: number;
}

/**
 * The tuning phase as an experiment of its own: the development scenarios and seeds, no shadow
 * models, a Retrain ensemble only for the oracle rule, and only the metrics the rule reads.
 */
export function developmentRun(exp: Experiment, tuning: TuningPlan): DevelopmentRun {
  const oracle = tuning.config.rule === 'oracle';
  const retrainSeeds = oracle ? exp.options.retrainSeeds : 0;
  const metricIds = oracle
    ? [...AVG_GAP_METRICS, 'avg-gap']
    : ['ua', 'ra', 'ta', ruleMetric(tuning.config.rule)];
  return {
    exp: {
      ...exp,
      scenarios: tuning.config.scenarios,
      seeds: tuning.config.seeds,
      options: { ...exp.options, retrainSeeds, shadowModels: 0, exampleImages: 0 },
    },
    metricIds,
    perSeed: 1 + retrainSeeds + allTrials(tuning).length,
  };
}

/**
 * Runs one phase's cells: in this process by default, else as jobs (jobs/schedule.ts). `sub` is
 * the phase's store inside the run directory.
 */
export type PhaseRunner = (phase: {
  exp: Experiment;
  methods: MethodPlan[];
  metricIds: string[];
  sub: string;
  tag: string;
}) => Promise<void>;

/** Run the trials on the development cells and choose; the methods the reported cells run. */
export async function runTuning(
  tuning: TuningPlan,
  dev: DevelopmentRun,
  declared: MethodPlan[],
  outDir: string,
  shared: Pick<SeedScenarioJob, 'progress' | 'counters' | 'failures'>,
  runPhase?: PhaseRunner,
): Promise<{ methods: MethodPlan[]; summary: TuningSummary }> {
  const devStore = RunStore.inDirectory(path.join(outDir, 'tuning'), {
    warn: shared.progress.warn,
  });
  const phase = {
    exp: dev.exp,
    methods: allTrials(tuning),
    metricIds: dev.metricIds,
    sub: 'tuning',
    tag: 'tuning · ',
  };
  if (runPhase) await runPhase(phase);
  else await runSeedScenarios({ ...phase, store: devStore, ...shared });
  // The trials' cells read first: the choice itself is synchronous.
  const cells = new Map<string, Cell | null>();
  const at = (label: string, scenario: string, seed: number) => `${label}\0${scenario}\0${seed}`;
  for (const t of phase.methods)
    for (const sc of dev.exp.scenarios)
      for (const seed of dev.exp.seeds)
        cells.set(at(t.label, sc.id, seed), await devStore.readCell(sc.id, seed, t.label));
  const choice = chooseTrials(
    tuning,
    declared,
    (t, scenario, seed) => cells.get(at(t.label, scenario, seed)) ?? null,
  );
  writeJsonAtomic(path.join(outDir, 'tuning.json'), choice.summary);
  return choice;
}
