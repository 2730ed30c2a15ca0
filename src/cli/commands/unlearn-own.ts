/**
 * `uib unlearn --model`: unlearn a deletion request from a tfjs-layers model of your own, over
 * data of your own, and write in `--out`, together and atomically:
 *
 *   model.json + weights.bin   the unlearned model, in tfjs's layers format (tf.loadLayersModel)
 *   deletion-record.json       uib-deletion-record/own-1: method, parameters, seed, SHA-256 of the
 *                              data, the request file(s), the original's and the new model's files
 *   evidence.json, report.html before / after (and retrained, with --recipe) on ΔD, D_r and test
 *
 *   uib unlearn --model my-model/model.json --data train.csv --label y --test test.csv \
 *     --forget ids.txt --method uib-if --out forgotten
 *
 * Whether ΔD was part of the model's training data cannot be checked for a model uib did not
 * train; a request naming ids that are not in --data is refused.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { computeEnvironment } from '../../backend/environment.ts';
import { initBackend } from '../../backend/index.ts';
import { writeDirAtomic, writeFileAtomic } from '../../core/atomic.ts';
import { UsageError } from '../../core/errors.ts';
import { sha256, sha256Json } from '../../core/hash.ts';
import { checkOutput, claimOutput, type OutputOptions } from '../../core/out-dir.ts';
import type { EvalSets } from '../../eval/types.ts';
import { buildEvidence, renderEvidenceHtml } from '../../experiments/evidence.ts';
import { loadLayersModelFile } from '../../models/user-model.ts';
import { saveLayersModelFile } from '../../models/user-model-save.ts';
import { weightScale } from '../../models/weight-guard.ts';
import type { TrainRecipe } from '../../train/types.ts';
import {
  OWN_RECORD_FORMAT,
  type OwnDeletionRecord,
  writeOwnDeletionRecord,
} from '../../unlearn/own-record.ts';
import { curvatureOf, jsonSafe, RECORD_FILE } from '../../unlearn/record.ts';
import { RETRAIN_ID, type UnlearnInputs, unlearn } from '../../unlearn/registry.ts';
import {
  checkModelFits,
  classOnly,
  DEFAULT_OWN_RECIPE,
  dataInputs,
  evidenceTable,
  loadOwnData,
  markNoTest,
  modelFileHashes,
  modelJsonOf,
  NO_TEST,
  type OwnData,
  type OwnDataFlags,
  predictSets,
  readRecipe,
  requestParts,
  uibVersion,
} from '../own.ts';
import { methodParams, required, type UnlearnRunFlags } from './unlearn.ts';

export interface UnlearnOwnFlags extends OwnDataFlags, UnlearnRunFlags {
  model?: string;
  recipe?: string;
}

export const EVIDENCE_FILE = 'evidence.json';
export const REPORT_FILE = 'report.html';

/** What a data set is, for the record. */
function dataRef(d: OwnData['train'], paths: string[], f: OwnDataFlags) {
  const src = d.source;
  return {
    paths: paths.map((p) => path.resolve(p)),
    format: src.format,
    sha256: src.sha256,
    files: src.files.length,
    n: d.length,
    sampleShape: [...d.sampleShape],
    numClasses: d.numClasses,
    options: {
      ...(f.label !== undefined && { label: f.label }),
      ...(f.id !== undefined && { id: f.id }),
    },
  };
}

export async function runUnlearnOwn(f: UnlearnOwnFlags): Promise<OwnDeletionRecord> {
  const modelJson = modelJsonOf(required(f.model, '--model', 'your tfjs model (model.json)'));
  const methodId = required(f.method, '--method', 'an unlearning method id (see uib methods)');
  const outDir = required(f.out, '--out', 'the directory to write the unlearned model to');
  // Everything about the request is checked before anything is loaded or trained.
  const { method, params } = methodParams(methodId, f.param, f.beta);
  requestParts(f);
  if (!f.data?.length) throw new UsageError('--data', 'required: your training data');
  const given = f.recipe ? readRecipe(f.recipe, f.seed) : null;
  const recipe: TrainRecipe = given?.recipe ?? { ...DEFAULT_OWN_RECIPE, seed: f.seed };
  const outOpts: OutputOptions = {
    kind: 'own-unlearned',
    force: f.force,
    inputs: { '--model': path.dirname(modelJson), ...dataInputs(f), '--recipe': f.recipe },
  };
  const release = claimOutput(outDir, outOpts);
  const made: tfl.LayersModel[] = [];
  try {
    await initBackend(f.backend);
    const data = loadOwnData(f);
    // The loader's checks first (their messages name what is wrong); then the files' hashes.
    const original = await loadLayersModelFile(modelJson);
    made.push(original);
    const originalFiles = modelFileHashes(modelJson);
    checkModelFits(original, modelJson, data.train);
    const scale = weightScale(original);
    const inputs: UnlearnInputs = {
      original,
      recipe,
      data: { retain: data.retain, forget: data.forget },
      seed: f.seed,
      quiet: f.quiet,
    };
    const result = await unlearn(methodId, inputs, params);
    made.push(result.model);
    // The reference: Retrain on D_r with the user's recipe (what the model would be without ΔD).
    let reference: Awaited<ReturnType<typeof unlearn>> | null = null;
    if (given) {
      if (method.id === RETRAIN_ID) reference = result;
      else {
        reference = await unlearn(RETRAIN_ID, inputs);
        made.push(reference.model);
      }
    }
    const before = await predictSets(original, data);
    const after = await predictSets(result.model, data);
    const refSets: EvalSets | undefined = reference
      ? await predictSets(reference.model, data)
      : undefined;
    const evidence = await buildEvidence({
      method: methodId,
      classNames: data.train.source.classNames ?? [],
      before,
      after,
      reference: refSets,
      noReference:
        'no retrained reference: give --recipe (how the model was trained) to retrain on D_r and compare',
      seed: f.seed,
      facts: { kind: classOnly(f) ? 'class' : 'random' },
    });
    if (!data.test) markNoTest(evidence);

    const details = jsonSafe(result.details) as Record<string, unknown>;
    const recordParams = jsonSafe(result.params) as Record<string, unknown>;
    let record: OwnDeletionRecord | undefined;
    await writeDirAtomic(
      outDir,
      async (tmp) => {
        const saved = await saveLayersModelFile(result.model, tmp);
        const evidenceText = `${JSON.stringify(evidence, null, 2)}\n`;
        writeFileAtomic(path.join(tmp, EVIDENCE_FILE), evidenceText);
        writeFileAtomic(
          path.join(tmp, REPORT_FILE),
          renderEvidenceHtml(evidence, `uib: ${methodId} on ${path.basename(modelJson)}`),
        );
        const environment = computeEnvironment();
        record = {
          format: OWN_RECORD_FORMAT,
          method: methodId,
          params: recordParams,
          paramsSha256: sha256Json(recordParams),
          seed: f.seed,
          original: {
            modelJson: path.resolve(modelJson),
            files: originalFiles,
            weightScale: scale,
          },
          unlearned: { dir: path.resolve(outDir), files: saved.files },
          data: dataRef(data.train, f.data!, f),
          test: data.test ? dataRef(data.test, f.test!, f) : null,
          request: {
            parts: data.resolution.records.map((r) =>
              r.kind === 'file' ? { ...r, file: path.resolve(r.file) } : r,
            ),
            counts: {
              train: data.train.length,
              forget: data.forget.length,
              retain: data.retain.length,
            },
          },
          recipe: {
            file: given?.file ?? null,
            sha256: given?.sha256 ?? null,
            value: recipe as unknown as OwnDeletionRecord['recipe']['value'],
          },
          reference: reference ? { method: RETRAIN_ID, stats: jsonSafe(reference.stats) } : null,
          evidence: { file: EVIDENCE_FILE, sha256: sha256(evidenceText) },
          curvature: curvatureOf(details),
          stats: result.stats,
          details,
          environment,
          versions: { uib: uibVersion(), tfjs: tf.version_core, node: process.versions.node },
          createdAt: new Date().toISOString(),
        };
        writeOwnDeletionRecord(path.join(tmp, RECORD_FILE), record);
      },
      { beforeSwap: () => checkOutput(outDir, outOpts) },
    );
    if (!f.quiet) {
      const r = record!;
      process.stdout.write(
        `uib unlearn: ${methodId} on ${path.basename(modelJson)} (ΔD ${data.forget.length}, D_r ${data.retain.length}${data.test ? `, test ${data.test.length}` : ''}) in ${(r.stats.timeMs / 1000).toFixed(1)} s, ${r.stats.gradEvals} gradient evaluations\n${evidenceTable(evidence, { before: 'original', after: methodId })}${data.test ? '' : `${NO_TEST}\n`}${given ? '' : method.id === RETRAIN_ID ? `retrained with the default recipe (${JSON.stringify(DEFAULT_OWN_RECIPE)}); give --recipe for your model's own\n` : 'no retrained reference (give --recipe to compare with Retrain)\n'}saved ${outDir} (model.json, weights.bin, ${RECORD_FILE}, ${EVIDENCE_FILE}, ${REPORT_FILE})\n`,
      );
    }
    return record!;
  } finally {
    for (const m of new Set(made)) m.dispose();
    release();
  }
}
