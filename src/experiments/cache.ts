/**
 * The runner's model cache: a trained reference model (original θ̂, Retrain) stored as a
 * checkpoint (`models/checkpoint.ts`) under the content hash of everything that fixed it, with
 * its training cost in the checkpoint's `extra`. A missing or unreadable entry is a miss: the
 * model is trained again and the entry rewritten.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { isUsageError } from '../core/errors.ts';
import { loadCheckpoint, METADATA_FILE, saveCheckpoint } from '../models/checkpoint.ts';
import type { TrainRecipe } from '../train/types.ts';

export interface CachedModel {
  model: LayersModel;
  extra: Record<string, unknown>;
}

export async function loadCachedModel(dir: string): Promise<CachedModel | null> {
  if (!fs.existsSync(path.join(dir, METADATA_FILE))) return null;
  try {
    const { model, meta } = await loadCheckpoint(dir);
    return { model, extra: meta.extra ?? {} };
  } catch (e) {
    if (isUsageError(e)) return null; // corrupt or stale entry: retrain and overwrite
    throw e;
  }
}

export async function saveCachedModel(
  dir: string,
  model: LayersModel,
  info: { recipe: TrainRecipe; scenarioHash: string; extra: Record<string, unknown> },
): Promise<void> {
  await saveCheckpoint(dir, model, info);
}
