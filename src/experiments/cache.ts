/**
 * The runner's model cache: a trained reference model (original θ̂, Retrain, a shadow) stored as
 * a checkpoint (`models/checkpoint.ts`) under the content hash of everything that fixed it, with
 * its training cost in the checkpoint's `extra`. Loading checks the weights against the SHA-256 in
 * metadata.json (checkpoint.ts); metadata.json has no hash of its own there, so the cache puts one
 * in `extra` (`recordSha256`, over the spec, recipe, scenario hash and the rest of `extra`): a
 * changed cost would otherwise pass into every speed-up read against the model. A missing entry
 * is a miss; a damaged one too, after a one-line warning naming it: the model is trained again
 * and the entry rewritten. An entry from before the cache hashed its metadata has its weights
 * checked only, as it had then.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { isUsageError, oneLine } from '../core/errors.ts';
import { sha256Json } from '../core/hash.ts';
import { loadCheckpoint, METADATA_FILE, saveCheckpoint } from '../models/checkpoint.ts';
import { specOf } from '../models/index.ts';
import type { TrainRecipe } from '../train/types.ts';
import { RECORD_HASH } from './artifact-store.ts';

export interface CachedModel {
  model: LayersModel;
  extra: Record<string, unknown>;
}

const stderr = (line: string) => {
  process.stderr.write(`${line}\n`);
};

/** The hash of what the cache reads from metadata.json, as JSON reads it back. */
function metaHash(meta: {
  spec: unknown;
  recipe?: unknown;
  scenarioHash?: unknown;
  extra: Record<string, unknown>;
}): string {
  const { spec, recipe, scenarioHash, extra } = meta;
  return sha256Json(JSON.parse(JSON.stringify({ spec, recipe, scenarioHash, extra })));
}

export async function loadCachedModel(
  dir: string,
  opts: { warn?: (line: string) => void } = {},
): Promise<CachedModel | null> {
  const warn = opts.warn ?? stderr;
  if (!fs.existsSync(path.join(dir, METADATA_FILE))) return null;
  let loaded: Awaited<ReturnType<typeof loadCheckpoint>>;
  try {
    loaded = await loadCheckpoint(dir);
  } catch (e) {
    if (!isUsageError(e)) throw e;
    warn(`warning: ${oneLine(e.message)}; not used, trained again`);
    return null;
  }
  const { model, meta } = loaded;
  const { [RECORD_HASH]: claimed, ...extra } = meta.extra ?? {};
  if (claimed !== undefined && claimed !== metaHash({ ...meta, extra })) {
    model.dispose();
    warn(
      `warning: ${path.join(dir, METADATA_FILE)}: content differs from its extra.${RECORD_HASH} (damaged or edited); not used, trained again`,
    );
    return null;
  }
  return { model, extra };
}

export async function saveCachedModel(
  dir: string,
  model: LayersModel,
  info: { recipe: TrainRecipe; scenarioHash: string; extra: Record<string, unknown> },
): Promise<void> {
  const spec = specOf(model);
  const hash = metaHash({ spec, ...info });
  await saveCheckpoint(dir, model, { ...info, extra: { ...info.extra, [RECORD_HASH]: hash } });
}
