/**
 * The method cells of one (seed, scenario): each method run from the original, evaluated against
 * the Retrain ensemble and persisted as soon as it is done; a stored final cell is skipped.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { DivergenceError, isUsageError, oneLine } from '../../core/errors.ts';
import { evaluateAll } from '../../eval/evaluate.ts';
import type { EvalInput, EvalSets } from '../../eval/types.ts';
import { jsonSafe } from '../../unlearn/record.ts';
import { unlearn } from '../../unlearn/registry.ts';
import type { Cell } from '../results-schema.ts';
import { type ShadowContext, shadowStats } from '../shadow.ts';
import type { MethodPlan } from '../tuning.ts';
import type { ScenarioRun } from './plan.ts';
import { costOf, flatWeights, predictAll, seconds, storedRecord } from './records.ts';
import type { Ensemble } from './references.ts';

/** What every method cell of one (seed, scenario) starts from and is read against. */
export interface CellBase extends Ensemble {
  /** The original θ̂ the methods unlearn from. */
  original: LayersModel;
  /** θ̂'s predictions (the reference of the Retrain-free selection score). */
  originalSets: () => Promise<EvalSets>;
  /** Shadow runs for the privacy metrics, when the experiment has them. */
  shadow?: ShadowContext;
}

/** A stored cell that a rerun keeps: done, or failed by diverging (a fault is retried). */
export function isFinal(cell: Cell | null, key: string): boolean {
  return (
    cell !== null && cell.key === key && (cell.status === 'ok' || cell.failure === 'divergence')
  );
}

/** Every method, each cell persisted as soon as it is done. */
export async function runMethodCells(run: ScenarioRun, base: CellBase): Promise<void> {
  const { job, tag } = run;
  const { scenario, seed, store, progress } = job;
  for (const m of job.methods) {
    const key = run.keys.cell(m);
    if (isFinal(await store.readCell(scenario.id, seed, m.label), key)) {
      job.counters.skipped++;
      progress.done(`${tag}: ${m.label} already done`);
      continue;
    }
    progress.stage(`${tag}: ${m.label}`);
    const originalForScore = job.metricIds.includes('selection')
      ? { sets: await base.originalSets() }
      : undefined;
    const cell = await runCell(run, base, m, key, {
      scenario: run.facts,
      seed,
      retrain: base.against,
      original: originalForScore,
    });
    await store.writeCell(cell);
    job.counters.computed++;
    if (cell.status === 'failed') {
      progress.warn(`uib run: ${tag}: ${m.label} failed: ${cell.error}`);
      if (cell.failure === 'fault') job.failures.push(`${tag}: ${m.label}: ${cell.error}`);
    }
    progress.done(
      `${tag}: ${m.label} ${cell.status === 'ok' ? `(${seconds(cell.cost?.timeMs ?? 0)})` : 'failed'}`,
    );
  }
}

/** Run one method and evaluate it; a method that fails becomes a failed cell, not a crash. */
async function runCell(
  run: ScenarioRun,
  base: CellBase,
  m: MethodPlan,
  key: string,
  evalBase: Pick<EvalInput, 'scenario' | 'seed' | 'retrain' | 'original'>,
): Promise<Cell> {
  const { job } = run;
  const head = {
    scenario: job.scenario.id,
    seed: job.seed,
    method: m.label,
    methodId: m.id,
    params: m.params,
    key,
    retrain: (evalBase.retrain?.record.values ?? {}) as Cell['retrain'],
  };
  let model: LayersModel | null = null;
  try {
    const r = await unlearn(
      m.id,
      {
        original: base.original,
        spec: run.spec,
        recipe: run.recipe,
        data: {
          retain: run.data.retain,
          forget: run.data.forget,
          ...(run.validation && { validation: run.validation }),
        },
        seed: job.seed,
        quiet: true,
      },
      m.params,
    );
    model = r.model;
    const cost = {
      ...costOf(r.stats),
      speedUp:
        base.retrainTimeMs !== undefined && r.stats.timeMs > 0
          ? base.retrainTimeMs / r.stats.timeMs
          : null,
    };
    // The method's shadow runs (after its own run, so they never count in its cost).
    const shadow = base.shadow
      ? await shadowStats(base.shadow, { id: m.id, params: m.params })
      : undefined;
    const record = await evaluateAll(
      {
        ...evalBase,
        ...(shadow && { shadow }),
        sets: await predictAll(model, run.data, run.evalOpts),
        ...(base.retrainWeights && {
          weights: { model: flatWeights(model), retrain: base.retrainWeights },
        }),
        cost: {
          timeMs: r.stats.timeMs,
          gradEvals: r.stats.gradEvals,
          epochsTouched: r.stats.epochsTouched,
          retrainTimeMs: base.retrainTimeMs,
        },
      },
      { metrics: job.metricIds },
    );
    return {
      ...head,
      status: 'ok',
      metrics: storedRecord(record),
      cost,
      details: jsonSafe(r.details) as Cell['details'],
      finishedAt: new Date().toISOString(),
    };
  } catch (e) {
    if (isUsageError(e)) throw e; // bad input: stop, say what
    if (process.env.UIB_DEBUG && e instanceof Error && e.stack)
      process.stderr.write(`${e.stack}\n`);
    return {
      ...head,
      status: 'failed',
      error: oneLine(e),
      failure: e instanceof DivergenceError ? 'divergence' : 'fault',
      metrics: null,
      cost: null,
      details: {},
      finishedAt: new Date().toISOString(),
    };
  } finally {
    model?.dispose();
  }
}
