/**
 * `uib verify DIR` on the output of `uib unlearn --model` (record format
 * `uib-deletion-record/own-1`): the files' hashes against the record — the unlearned model.json
 * and weights.bin, evidence.json, the original model's files, the data (reloaded with the
 * record's options), the test set and the forget files, each where it still is — and the model
 * rebuilt with every check of the loader. One line per check, then `OK`; the first mismatch is a
 * UsageError (exit 2) naming the file that no longer matches.
 */

import * as path from 'node:path';
import { describeEnvironment } from '../../backend/environment.ts';
import { initBackend } from '../../backend/index.ts';
import { UsageError } from '../../core/errors.ts';
import { exists, fileSha256 as fileSha } from '../../core/read.ts';
import type { CsvSource } from '../../data/user/csv.ts';
import { loadUserData } from '../../data/user/load.ts';
import { loadLayersModelFile } from '../../models/user-model.ts';
import { modelWeightsProblem, WEIGHT_BOUND_FACTOR } from '../../models/weight-guard.ts';
import { type OwnDeletionRecord, readOwnDeletionRecord } from '../../unlearn/own-record.ts';

const short = (v: string) => `${v.slice(0, 12)}…`;

function same(file: string, what: string, stated: string, recordFile: string): void {
  const actual = fileSha(file);
  if (actual !== stated)
    throw new UsageError(
      file,
      `SHA-256 ${short(actual)} no longer matches ${what} ${short(stated)} in ${path.basename(recordFile)}`,
    );
}

/** Reload a data set as the record says it was loaded, and compare its hash and size. */
function checkData(
  ref: NonNullable<OwnDeletionRecord['test']>,
  recordFile: string,
  encodingFrom: CsvSource | null,
): string {
  if (!ref.paths.every((p) => exists(p)))
    return `${ref.paths.join(' ')}: absent, not checked (the record says SHA-256 ${short(ref.sha256)})`;
  const d = loadUserData(ref.paths, {
    ...ref.options,
    ...(encodingFrom && { encoding: encodingFrom.encoding }),
  });
  if (d.source.sha256 !== ref.sha256 || d.length !== ref.n)
    throw new UsageError(
      ref.paths.join(' '),
      `SHA-256 ${short(d.source.sha256)} (${d.length} samples) no longer matches the record's ${short(ref.sha256)} (${ref.n}) in ${path.basename(recordFile)}`,
    );
  return `${ref.paths.join(' ')}: ${ref.format}, ${ref.n} samples, SHA-256 ${short(ref.sha256)} matches the record`;
}

export async function runVerifyOwn(
  dir: string,
  recordFile: string,
  backend: string | undefined,
  print: (line: string) => void,
): Promise<void> {
  const record = readOwnDeletionRecord(recordFile);
  for (const f of record.unlearned.files)
    same(path.join(dir, f.name), `unlearned ${f.name}`, f.sha256, recordFile);
  same(path.join(dir, record.evidence.file), 'evidence.sha256', record.evidence.sha256, recordFile);
  print(
    `files      ${dir}: ${record.unlearned.files.map((f) => f.name).join(', ')} and ${record.evidence.file} match ${path.basename(recordFile)}`,
  );
  await initBackend(backend ?? 'cpu');
  // Every check of the loader (layers, manifest, finite weights), then the original's scale.
  const model = await loadLayersModelFile(dir);
  let bound: string | null;
  try {
    bound = modelWeightsProblem(model, record.original.weightScale);
  } finally {
    model.dispose();
  }
  if (bound) throw new UsageError(path.join(dir, 'weights.bin'), `${bound}: the model diverged`);
  print(
    `model      ${dir}: tfjs builds it; weights finite and within ${WEIGHT_BOUND_FACTOR}× the original's scale`,
  );
  print(
    `record     ${recordFile}: ${record.method}, seed ${record.seed}, ΔD ${record.request.counts.forget} of ${record.request.counts.train}`,
  );

  const origDir = path.dirname(record.original.modelJson);
  const present = record.original.files.every((f) => exists(path.join(origDir, f.name)));
  if (present) {
    for (const f of record.original.files)
      same(path.join(origDir, f.name), `original ${f.name}`, f.sha256, recordFile);
    print(`original   ${origDir}: ${record.original.files.length} files match the record`);
  } else print(`original   ${origDir}: absent, not checked`);

  const train = record.data;
  print(`data       ${checkData(train, recordFile, null)}`);
  if (record.test) {
    // A held-out CSV was encoded with the training file's statistics: reload it the same way.
    let enc: CsvSource | null = null;
    if (record.test.format === 'csv' && train.paths.every((p) => exists(p)))
      enc = loadUserData(train.paths, train.options).source as CsvSource;
    print(
      `test       ${record.test.format === 'csv' && !enc ? `${record.test.paths.join(' ')}: not checked (the training CSV that encodes it is absent)` : checkData(record.test, recordFile, enc)}`,
    );
  } else print('test       none was given');
  for (const part of record.request.parts) {
    if (part.kind !== 'file') continue;
    if (exists(part.file)) {
      same(part.file, 'the forget file’s sha256', part.sha256, recordFile);
      print(`forget     ${part.file}: ${part.count} ids, SHA-256 matches the record`);
    } else print(`forget     ${part.file}: absent, not checked`);
  }
  if (record.recipe.file && record.recipe.sha256) {
    if (exists(record.recipe.file)) {
      same(record.recipe.file, 'recipe.sha256', record.recipe.sha256, recordFile);
      print(`recipe     ${record.recipe.file}: matches the record`);
    } else print(`recipe     ${record.recipe.file}: absent, not checked`);
  }
  print(
    `relation   NOT CHECKED: uib cannot tell whether ΔD was in the training data of a model it did not train (the ids were in --data)`,
  );
  const e = record.environment;
  print(
    `environment ${describeEnvironment(e)}, addon ${e.addon ? 'on' : 'off'}, tfjs ${e.tfjs}, node ${e.node}`,
  );
  print('OK');
}
