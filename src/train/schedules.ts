/**
 * Learning-rate schedules: pure functions of the step. A linear warm-up (from lr/warmup up to lr)
 * comes first; the schedule then runs over the remaining steps, with p going from 0 to 1:
 *   constant  lr
 *   cosine    lr · ½(1 + cos πp)
 *   linear    lr · (1 − p)
 *   step      lr · 0.1^k, k = number of the milestones ½ and ¾ that p has passed
 */
import { UsageError } from '../core/errors.ts';
import { type OptimizerSpec, SCHEDULE_NAMES, type ScheduleName } from './types.ts';

export const SCHEDULES: readonly ScheduleName[] = SCHEDULE_NAMES;

export function parseSchedule(value: string, where = '--schedule'): ScheduleName {
  if ((SCHEDULES as readonly string[]).includes(value)) return value as ScheduleName;
  throw new UsageError(where, `must be one of ${SCHEDULES.join(', ')}; got "${value}"`);
}

/** The learning rate of 0-based `step` in a run of `totalSteps`. */
export function learningRate(opt: OptimizerSpec, step: number, totalSteps: number): number {
  const warmup = Math.min(opt.warmupSteps ?? 0, totalSteps);
  if (step < warmup) return (opt.lr * (step + 1)) / warmup;
  const span = totalSteps - warmup;
  const p = span > 0 ? Math.min(1, (step - warmup) / span) : 0;
  switch (opt.schedule ?? 'constant') {
    case 'constant':
      return opt.lr;
    case 'cosine':
      return opt.lr * 0.5 * (1 + Math.cos(Math.PI * p));
    case 'linear':
      return opt.lr * (1 - p);
    case 'step':
      return opt.lr * 0.1 ** ((p >= 0.5 ? 1 : 0) + (p >= 0.75 ? 1 : 0));
    default:
      throw new UsageError(
        'optimizer.schedule',
        `must be one of ${SCHEDULES.join(', ')}; got "${opt.schedule}"`,
      );
  }
}
