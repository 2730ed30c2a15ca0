/**
 * `uib verify DIR`: recompute the hashes that tie a checkpoint to its history and check them.
 *
 * A trained checkpoint: weights.bin against metadata.json, then every check `loadCheckpoint` runs
 * (model.json's manifest and topology against the spec). An unlearned checkpoint also has a
 * deletion record (`deletion-record.json`), checked against the checkpoint (weights, scenario hash,
 * method, original weights), against the original checkpoint if it is still where the record says,
 * and against the scenario manifest if it is still there. One line per check, then `OK`; the first
 * mismatch is a UsageError (exit 2) naming the file that no longer matches.
 *
 * Where three sources state one hash (the file itself, metadata.json, the record), the one that
 * disagrees with the other two is named; where only two do, the later-written one is.
 *
 *   uib verify runs/cnn-uib
 *
 * The output of `uib unlearn --model` (a model of your own) is checked by verify-own.ts.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { describeEnvironment } from '../../backend/environment.ts';
import { initBackend, parseBackendName } from '../../backend/index.ts';
import { UsageError } from '../../core/errors.ts';
import { sha256, sha256Json, stableStringify } from '../../core/hash.ts';
import { exists, fileSha256 as fileSha, isRegularFile, readFileChecked } from '../../core/read.ts';
import type { Manifest } from '../../data/scenarios/index.ts';
import { MANIFEST_MAX_BYTES, parseManifest } from '../../data/scenarios/manifest.ts';
import {
  loadCheckpoint,
  METADATA_FILE,
  readCheckpointMeta,
  WEIGHTS_FILE,
} from '../../models/checkpoint.ts';
import {
  modelWeightsProblem,
  WEIGHT_BOUND_FACTOR,
  weightScale,
} from '../../models/weight-guard.ts';
import { OWN_RECORD_FORMAT, recordFormatOf } from '../../unlearn/own-record.ts';
import { RECORD_FILE, readDeletionRecord } from '../../unlearn/record.ts';
import { FISHER_BIN, FISHER_JSON } from '../../unlearn/uib/fisher-cache.ts';
import { runVerifyOwn } from './verify-own.ts';

export interface VerifyFlags {
  backend?: string;
}

/** One source's statement of a value: the file it is in, and what it is called there. */
interface Claim {
  file: string;
  what: string;
  value: string | undefined;
}

const short = (v: string | undefined) => (v === undefined ? '(none)' : `${v.slice(0, 12)}…`);

/**
 * All claims that state a value must agree. On a disagreement the claim outvoted by the others
 * is named (the first claim when no value has a majority), with what the others say.
 */
function agree(claims: Claim[]): void {
  const stated = claims.filter((c) => c.value !== undefined);
  const values = new Set(stated.map((c) => c.value));
  if (values.size <= 1) return;
  const count = (v: string | undefined) => stated.filter((c) => c.value === v).length;
  const majority = stated.find((c) => count(c.value) * 2 > stated.length)?.value;
  const odd = stated.find((c) => c.value !== (majority ?? stated[1].value)) ?? stated[0];
  const others = stated
    .filter((c) => c !== odd)
    .map((c) => `${c.what} in ${path.basename(c.file)} ${short(c.value)}`)
    .join(', ');
  throw new UsageError(odd.file, `${odd.what} ${short(odd.value)} no longer matches ${others}`);
}

/** A value the record states that must equal the one recomputed from `file`. */
function same(file: string, what: string, stated: unknown, actual: unknown, recordFile: string) {
  const a = stableStringify(stated);
  const b = stableStringify(actual);
  if (a !== b)
    throw new UsageError(
      recordFile,
      `${what} is ${a.length > 40 ? `${a.slice(0, 37)}...` : a} but ${path.basename(file)} says ${b.length > 40 ? `${b.slice(0, 37)}...` : b}`,
    );
}

/** Verify `dir`; each line of the report goes to `print`. Throws UsageError on the first mismatch. */
export async function runVerify(
  dir: string,
  f: VerifyFlags = {},
  print: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<void> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new UsageError(dir, 'not a directory (expected a uib checkpoint directory)');
  const recordFile = path.join(dir, RECORD_FILE);
  // The output of `uib unlearn --model` has no checkpoint metadata: its own record and checks.
  if (exists(recordFile) && recordFormatOf(recordFile) === OWN_RECORD_FORMAT)
    return runVerifyOwn(dir, recordFile, f.backend, print);
  if (
    !exists(recordFile) &&
    !exists(path.join(dir, METADATA_FILE)) &&
    exists(path.join(dir, 'evidence.json'))
  )
    throw new UsageError(
      dir,
      'holds evidence alone (uib eval --out), no model or deletion record: nothing to verify',
    );
  const metaFile = path.join(dir, METADATA_FILE);
  const weightsFile = path.join(dir, WEIGHTS_FILE);
  const meta = readCheckpointMeta(dir);
  const record = exists(recordFile) ? readDeletionRecord(recordFile) : null;
  if (!fs.existsSync(weightsFile)) throw new UsageError(weightsFile, 'missing');

  const weights = fileSha(weightsFile);
  agree([
    { file: weightsFile, what: 'SHA-256', value: weights },
    { file: metaFile, what: 'weightsSha256', value: meta.weightsSha256 },
    ...(record
      ? [
          {
            file: recordFile,
            what: 'unlearned.weightsSha256',
            value: record.unlearned.weightsSha256,
          },
        ]
      : []),
  ]);
  print(
    `weights    ${weightsFile}: SHA-256 ${short(weights)} matches ${METADATA_FILE}${record ? ` and ${RECORD_FILE}` : ''}`,
  );
  await initBackend(f.backend ?? 'cpu');
  // Every check loadCheckpoint runs (manifest, topology, finite weights), then the weight bound.
  const { model } = await loadCheckpoint(dir);
  let bound: string | null;
  try {
    bound = record ? modelWeightsProblem(model, record.original.weightScale) : null;
  } finally {
    model.dispose();
  }
  if (bound) throw new UsageError(weightsFile, `${bound}: the model diverged`);
  print(
    `model      ${dir}: model.json's manifest and topology match the spec in ${METADATA_FILE}; weights finite${record ? ` and within ${WEIGHT_BOUND_FACTOR}× the original's scale` : ''}`,
  );
  if (!record) {
    print(
      `record     none (a trained checkpoint)${meta.scenarioHash ? `; trained under scenario ${short(meta.scenarioHash)}` : ''}`,
    );
    print('OK');
    return;
  }

  const extra = meta.extra ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const need = (value: unknown, what: string) => {
    if (value === undefined)
      throw new UsageError(metaFile, `${what} is missing (the record states it)`);
  };
  need(extra.method, 'extra.method');
  need(extra.seed, 'extra.seed');
  need(extra.paramsSha256, 'extra.paramsSha256');
  agree([
    { file: recordFile, what: 'method', value: record.method },
    { file: metaFile, what: 'extra.method', value: str(extra.method) },
  ]);
  agree([
    { file: recordFile, what: 'seed', value: String(record.seed) },
    { file: metaFile, what: 'extra.seed', value: String(extra.seed) },
  ]);
  agree([
    { file: recordFile, what: 'params hash', value: sha256Json(record.params) },
    { file: recordFile, what: 'paramsSha256', value: record.paramsSha256 },
    { file: metaFile, what: 'extra.paramsSha256', value: str(extra.paramsSha256) },
  ]);
  print(
    `record     ${recordFile}: ${record.method} on ${record.scenario.kind}, seed ${record.seed}, parameters ${short(record.paramsSha256)}`,
  );

  // The original checkpoint: its weights and their scale, if still where the record says.
  const origDir = record.original.checkpoint;
  const origWeights = path.join(origDir, WEIGHTS_FILE);
  const origPresent = isRegularFile(origWeights);
  agree([
    { file: recordFile, what: 'original.weightsSha256', value: record.original.weightsSha256 },
    { file: metaFile, what: 'extra.unlearnedFrom', value: str(extra.unlearnedFrom) },
    ...(origPresent ? [{ file: origWeights, what: 'SHA-256', value: fileSha(origWeights) }] : []),
  ]);
  const origMetaFile = path.join(origDir, METADATA_FILE);
  const origMeta = origPresent ? readCheckpointMeta(origDir) : null;
  if (origMeta) {
    agree([
      { file: origMetaFile, what: 'weightsSha256', value: origMeta.weightsSha256 },
      { file: recordFile, what: 'original.weightsSha256', value: record.original.weightsSha256 },
    ]);
    const { model: orig } = await loadCheckpoint(origDir);
    let scale: Record<string, number>;
    try {
      scale = weightScale(orig);
    } finally {
      orig.dispose();
    }
    same(origWeights, 'original.weightScale', record.original.weightScale, scale, recordFile);
    print(
      `original   ${origWeights}: SHA-256 ${short(record.original.weightsSha256)} and weight scale match the record`,
    );
  } else {
    print(
      `original   ${origDir}: absent, not checked (the record says its weights had SHA-256 ${short(record.original.weightsSha256)})`,
    );
  }

  // The deletion request: the scenario manifest's content hash, and its bytes if still there.
  const manifestFile = record.scenario.file;
  const manifestPresent = exists(manifestFile);
  let manifest: Manifest | null = null;
  let manifestBytes: string | undefined;
  if (manifestPresent) {
    const bytes = readFileChecked(manifestFile, { maxBytes: MANIFEST_MAX_BYTES });
    manifestBytes = sha256(bytes);
    manifest = parseManifest(bytes.toString('utf8'), manifestFile);
  }
  agree([
    { file: recordFile, what: 'scenario.manifestSha256', value: record.scenario.manifestSha256 },
    { file: metaFile, what: 'scenarioHash', value: meta.scenarioHash },
    ...(manifest
      ? [{ file: manifestFile, what: 'manifest hash', value: sha256Json(manifest) }]
      : []),
  ]);
  agree([
    { file: recordFile, what: 'scenario.trainSetSha256', value: record.scenario.trainSetSha256 },
    { file: metaFile, what: 'trainSetSha256', value: meta.trainSetSha256 },
    ...(manifest
      ? [{ file: manifestFile, what: 'inputsHash.train', value: manifest.inputsHash.train }]
      : []),
  ]);
  if (manifest) {
    // Same content, other bytes (reformatted, or the record's byte hash edited): name the file.
    agree([
      { file: manifestFile, what: 'file SHA-256', value: manifestBytes },
      { file: recordFile, what: 'scenario.fileSha256', value: record.scenario.fileSha256 },
    ]);
    // What the record says of the request, against the request itself.
    same(manifestFile, 'scenario.kind', record.scenario.kind, manifest.scenario.kind, recordFile);
    same(manifestFile, 'scenario.seed', record.scenario.seed, manifest.seed, recordFile);
    same(
      manifestFile,
      'scenario.dataset',
      record.scenario.dataset,
      manifest.dataset.id,
      recordFile,
    );
    same(manifestFile, 'scenario.counts', record.scenario.counts, manifest.counts, recordFile);
  }
  print(
    manifest
      ? `manifest   ${manifestFile}: file and content hashes, kind, seed, dataset and counts match the record and ${METADATA_FILE}`
      : `manifest   ${manifestFile}: absent; the record's manifest hash ${short(record.scenario.manifestSha256)} matches ${METADATA_FILE} (kind, seed and counts not checked)`,
  );

  // How the original relates to the request's training set, recomputed where the original is.
  const relation = record.scenario.relation;
  if ((relation === 'trained-under') !== record.scenario.matchesCheckpoint)
    throw new UsageError(
      recordFile,
      `scenario.matchesCheckpoint ${record.scenario.matchesCheckpoint} contradicts scenario.relation "${relation}"`,
    );
  if (origMeta) {
    const actual =
      origMeta.scenarioHash === record.scenario.manifestSha256
        ? 'trained-under'
        : origMeta.trainSetSha256 === record.scenario.trainSetSha256
          ? 'same-training-set'
          : 'declared-other';
    same(origMetaFile, 'scenario.relation', relation, actual, recordFile);
  }
  print(
    `relation   ${RELATION_TEXT[relation]}${origMeta ? '' : ' (the original is absent: as the record states it)'}`,
  );

  // The F_D cache the prior read, if any: its two files, if still there.
  const cache = record.fisherCache;
  if ((cache !== null) !== (record.curvature?.source === 'cache'))
    throw new UsageError(
      recordFile,
      `fisherCache ${cache ? 'is set' : 'is null'} but curvature.source is ${record.curvature?.source ?? 'absent'}`,
    );
  if (cache) {
    const json = path.join(cache.dir, FISHER_JSON);
    const bin = path.join(cache.dir, FISHER_BIN);
    if (exists(json) || exists(bin)) {
      agree([
        { file: json, what: 'SHA-256', value: fileSha(json) },
        { file: recordFile, what: 'fisherCache.jsonSha256', value: cache.jsonSha256 },
      ]);
      agree([
        { file: bin, what: 'SHA-256', value: fileSha(bin) },
        { file: recordFile, what: 'fisherCache.binSha256', value: cache.binSha256 },
      ]);
      print(`fisher     ${cache.dir}: ${FISHER_JSON} and ${FISHER_BIN} match the record`);
    } else print(`fisher     ${cache.dir}: the cache is gone, not checked`);
  } else print('fisher     no cache was read');
  const e = record.environment;
  print(
    `environment ${describeEnvironment(e)}, addon ${e.addon ? 'on' : 'off'}, tfjs ${e.tfjs}, node ${e.node}: a rerun with the same seed gives the same bits on the same four`,
  );
  print('OK');
}

const RELATION_TEXT: Record<string, string> = {
  'trained-under': 'the original was trained under this manifest',
  'same-training-set': 'the original was trained on this manifest’s training set',
  'declared-other':
    'DECLARED: the original was not trained on this manifest’s training set (--other-training-set)',
};

export function register(program: Command): void {
  program
    .command('verify')
    .description(
      'check a checkpoint against its metadata and, if unlearned, its deletion record (hashes of weights, original, manifest)',
    )
    .argument(
      '<dir>',
      'checkpoint directory (uib train or uib unlearn), or uib unlearn --model’s output',
    )
    .option('--backend <name>', 'compute backend used to rebuild the model (default: cpu)', (v) =>
      parseBackendName(v),
    )
    .action(async (dir: string, flags: VerifyFlags) => {
      await runVerify(dir, flags);
    });
}
