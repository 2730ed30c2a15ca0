/**
 * The checks of a tfjs model.json that need no file system: a layers model (not a graph model),
 * its layer list, every layer class one uib can unlearn. Shared by the Node loader
 * (./user-model.ts, which then reads the weights) and the browser page (a dropped model.json),
 * so both refuse the same files with the same one-line message naming the file.
 */
import { UsageError } from '../core/errors.ts';
import { SUPPORTED_LAYERS } from './describe.ts';

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The layer entries of a layers-model topology (tfjs's own, or the Keras converter's). */
export function layerEntries(topology: Record<string, unknown>): unknown[] | null {
  const model = isObject(topology.model_config) ? topology.model_config : topology;
  const config = model.config;
  // Keras 1 / early Keras 2 wrote a Sequential's config as the bare layer list.
  if (Array.isArray(config)) return config;
  if (isObject(config) && Array.isArray(config.layers)) return config.layers;
  return null;
}

/** Every layer entry whose class no method supports, as "name (Class)". */
function unsupportedEntries(entries: unknown[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const cls = isObject(e) ? String(e.class_name ?? e.className) : String(e);
    const cfg = isObject(e) && isObject(e.config) ? e.config : {};
    const name = isObject(e) ? String(e.name ?? cfg.name ?? '?') : '?';
    if (!SUPPORTED_LAYERS.includes(cls)) out.push(`${name} (${cls})`);
  }
  return out;
}

/** `json` (model.json parsed) checked; returns it and its topology. `file` names it in errors. */
export function checkLayersModelJson(
  json: unknown,
  file: string,
): { json: Record<string, unknown>; topology: Record<string, unknown> } {
  if (!isObject(json)) throw new UsageError(file, 'must be a JSON object (a tfjs model.json)');
  const topology = json.modelTopology;
  const graphLike = isObject(topology) && (Array.isArray(topology.node) || 'versions' in topology);
  if (json.format === 'graph-model' || (json.format === undefined && graphLike))
    throw new UsageError(
      file,
      'is a graph model (format "graph-model"), which tfjs can run but not train; convert the Keras model with --output_format tfjs_layers_model',
    );
  if (json.format !== undefined && json.format !== 'layers-model')
    throw new UsageError(file, `format must be "layers-model"; got ${JSON.stringify(json.format)}`);
  if (!isObject(topology))
    throw new UsageError(file, 'modelTopology is missing (not a tfjs layers model)');
  const entries = layerEntries(topology);
  if (!entries)
    throw new UsageError(file, 'modelTopology holds no layer list (not a tfjs layers model)');
  const bad = unsupportedEntries(entries);
  if (bad.length > 0)
    throw new UsageError(
      file,
      `uib cannot unlearn this model: ${bad.join(', ')}; supported layers: ${SUPPORTED_LAYERS.join(', ')}`,
    );
  return { json, topology };
}
