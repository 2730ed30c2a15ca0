/**
 * FT — fine-tuning: minimise the cross-entropy on D_r alone, starting from θ̂, and rely on
 * catastrophic forgetting to erase ΔD (Warnecke et al. 2021; Jia et al. 2023's baseline).
 */
import { z } from 'zod';
import { cloneModel } from '../../models/index.ts';
import type { UnlearnMethod } from '../types.ts';
import { fineTuneOnRetain, timed, trainingParams } from './common.ts';

const params = z.strictObject({ ...trainingParams({ epochs: 2, lr: 0.01 }) });

export const ft: UnlearnMethod<typeof params> = {
  id: 'ft',
  summary: 'Fine-tune on D_r (catastrophic forgetting of ΔD)',
  params,
  readsRetain: true,
  supportsUib: true,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    const model = cloneModel(ctx.original);
    const run = await timed(phases, 'finetune', () =>
      fineTuneOnRetain(ctx, model, p, { epochs: p.epochs }, 'ft'),
    );
    return { model, phases, details: { steps: run.steps } };
  },
};
