/**
 * The tuning protocol (docs/method.md §9): for every method with a `search`, draw its trials from
 * the grid (all of it when it has no more than `budget` points, else `budget` of them with a
 * seed), run each on the development scenarios × seeds, score each run by the rule, and hand
 * the reported cells the trial with the lowest mean score. The runner runs the trials as cells;
 * this module only plans and chooses.
 */
import { isUsageError, UsageError } from '../core/errors.ts';
import { rngFor } from '../core/rng.ts';
import { getMethod, parseParams } from '../unlearn/registry.ts';
import type { Cell, TuningSummary } from './results-schema.ts';
import type { Experiment, TuningConfig } from './schema.ts';

export interface MethodPlan {
  label: string;
  id: string;
  params: Record<string, unknown>;
}

export interface TrialPlan extends MethodPlan {
  /** The experiment method this trial tunes. */
  of: string;
  index: number;
}

export interface TuningPlan {
  config: TuningConfig;
  /** Trials per tuned method label, in grid order. */
  trials: Map<string, TrialPlan[]>;
  gridSizes: Map<string, number>;
}

/** The metric each rule reads from a development cell (both lower = better). */
export function ruleMetric(rule: TuningConfig['rule']): 'selection' | 'avg-gap' {
  return rule === 'oracle' ? 'avg-gap' : 'selection';
}

/** Every grid point of `search`, in the order its keys and values are written. */
export function gridOf(search: Record<string, readonly unknown[]>): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const [k, values] of Object.entries(search))
    points = points.flatMap((p) => values.map((v) => ({ ...p, [k]: v })));
  return points;
}

/** The trials of each searched method, each configuration validated before any work. */
export function planTuning(
  exp: Experiment,
  methods: MethodPlan[],
  where: string,
): TuningPlan | null {
  const config = exp.tuning;
  if (!config) return null;
  const trials = new Map<string, TrialPlan[]>();
  const gridSizes = new Map<string, number>();
  exp.methods.forEach((m, i) => {
    if (!m.search) return;
    const plan = methods.find((p) => p.label === (m.label ?? m.id));
    if (!plan) return;
    const grid = gridOf(m.search);
    gridSizes.set(plan.label, grid.length);
    // A larger grid is subsampled with a seed of its own per method: the same draw on every run.
    const picked =
      grid.length <= config.budget
        ? grid
        : Array.from(rngFor(0, 'tuning', plan.label).permutation(grid.length))
            .slice(0, config.budget)
            .sort((a, b) => a - b)
            .map((j) => grid[j]);
    const method = getMethod(m.id, 'id');
    trials.set(
      plan.label,
      picked.map((point, index) => {
        let params: Record<string, unknown>;
        try {
          params = parseParams(method, { ...m.params, ...point });
        } catch (e) {
          if (!isUsageError(e)) throw e;
          const field = e.where.startsWith(`${m.id}.`) ? e.where.slice(m.id.length + 1) : e.where;
          throw new UsageError(where, `methods[${i}].search.${field}: ${e.problem}`);
        }
        return { label: `${plan.label}.trial-${index}`, id: m.id, params, of: plan.label, index };
      }),
    );
  });
  return { config, trials, gridSizes };
}

/** All trials, flat, in the experiment's method order. */
export function allTrials(plan: TuningPlan): TrialPlan[] {
  return [...plan.trials.values()].flat();
}

/**
 * Choose per method the trial with the lowest mean score over the development cells. A trial
 * with a failed or undefined cell cannot be trusted on the cases it did not score: it is out.
 * Ties go to the earlier trial (the grid's order).
 */
export function chooseTrials(
  plan: TuningPlan,
  methods: MethodPlan[],
  cellOf: (trial: TrialPlan, scenario: string, seed: number) => Cell | null,
): { summary: TuningSummary; methods: MethodPlan[] } {
  const metric = ruleMetric(plan.config.rule);
  const scenarios = plan.config.scenarios.map((s) => s.id);
  const summary: TuningSummary = {
    rule: plan.config.rule,
    budget: plan.config.budget,
    seeds: [...plan.config.seeds],
    scenarios,
    methods: [],
  };
  const chosen = methods.map((m) => {
    const trials = plan.trials.get(m.label);
    if (!trials) return m;
    const scored = trials.map((t) => {
      const cells: TuningSummary['methods'][number]['trials'][number]['cells'] = [];
      for (const scenario of scenarios) {
        for (const seed of plan.config.seeds) {
          const c = cellOf(t, scenario, seed);
          if (c?.status !== 'ok' || !c.metrics) {
            cells.push({ scenario, seed, value: null, reason: c?.error ?? 'not run' });
            continue;
          }
          const v = c.metrics.values[metric];
          cells.push(
            v && v.value !== null
              ? { scenario, seed, value: v.value }
              : { scenario, seed, value: null, reason: v?.reason ?? `${metric} not computed` },
          );
        }
      }
      const ok = cells.every((c) => c.value !== null);
      const score = ok ? cells.reduce((a, c) => a + (c.value as number), 0) / cells.length : null;
      return { label: t.label, params: t.params, score, cells };
    });
    let best: number | null = null;
    scored.forEach((s, i) => {
      if (s.score === null) return;
      if (best === null || s.score < (scored[best].score as number)) best = i;
    });
    const params = best === null ? m.params : trials[best].params;
    summary.methods.push({
      label: m.label,
      id: m.id,
      gridSize: plan.gridSizes.get(m.label) ?? trials.length,
      trials: scored,
      chosen: best,
      params,
    });
    return { ...m, params };
  });
  return { summary, methods: chosen };
}
