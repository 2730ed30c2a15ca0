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
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { initBackend, parseBackendName } from '../../backend/index.ts';
import { UsageError } from '../../core/errors.ts';
import { sha256Json } from '../../core/hash.ts';
import { readManifest } from '../../data/scenarios/index.ts';
import {
  checkCheckpoint,
  METADATA_FILE,
  readCheckpointMeta,
  WEIGHTS_FILE,
} from '../../models/checkpoint.ts';
import { RECORD_FILE, readDeletionRecord } from '../../unlearn/record.ts';

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

/** SHA-256 of a regular file, read in 1 MiB chunks (a record may name any path: no device, no FIFO). */
function fileSha(file: string): string {
  if (!fs.statSync(file).isFile()) throw new UsageError(file, 'is not a regular file');
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n = fs.readSync(fd, chunk); n > 0; n = fs.readSync(fd, chunk))
      hash.update(chunk.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
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
  const metaFile = path.join(dir, METADATA_FILE);
  const weightsFile = path.join(dir, WEIGHTS_FILE);
  const meta = readCheckpointMeta(dir);
  const record = fs.existsSync(recordFile) ? readDeletionRecord(recordFile) : null;
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
  checkCheckpoint(dir);
  print(`model      ${dir}: model.json's manifest and topology match the spec in ${METADATA_FILE}`);
  if (!record) {
    print(
      `record     none (a trained checkpoint)${meta.scenarioHash ? `; trained under scenario ${short(meta.scenarioHash)}` : ''}`,
    );
    print('OK');
    return;
  }

  const extra = meta.extra ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  agree([
    { file: recordFile, what: 'method', value: record.method },
    { file: metaFile, what: 'extra.method', value: str(extra.method) },
  ]);
  // Checkpoints written since metadata.json carried them (see unlearn.ts): seed and parameters.
  agree([
    { file: recordFile, what: 'seed', value: String(record.seed) },
    {
      file: metaFile,
      what: 'extra.seed',
      value: extra.seed === undefined ? undefined : String(extra.seed),
    },
  ]);
  agree([
    { file: recordFile, what: 'params hash', value: sha256Json(record.params) },
    { file: metaFile, what: 'extra.paramsSha256', value: str(extra.paramsSha256) },
  ]);
  print(
    `record     ${recordFile}: ${record.method} on ${record.scenario.kind}, seed ${record.seed}`,
  );

  // The original checkpoint: its weights, if still where the record says.
  const origDir = record.original.checkpoint;
  const origWeights = path.join(origDir, WEIGHTS_FILE);
  const origPresent = fs.existsSync(origWeights);
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
    print(
      `original   ${origWeights}: SHA-256 ${short(record.original.weightsSha256)} matches the record`,
    );
  } else {
    print(
      `original   ${origDir}: absent, not checked (the record says its weights had SHA-256 ${short(record.original.weightsSha256)})`,
    );
  }

  // The deletion request: the scenario manifest's content hash, and its bytes if still there.
  const manifestFile = record.scenario.file;
  const manifestPresent = fs.existsSync(manifestFile);
  const manifestBytes = manifestPresent ? fileSha(manifestFile) : undefined; // a regular file first
  agree([
    { file: recordFile, what: 'scenario.manifestSha256', value: record.scenario.manifestSha256 },
    { file: metaFile, what: 'scenarioHash', value: meta.scenarioHash },
    ...(manifestPresent
      ? [
          {
            file: manifestFile,
            what: 'manifest hash',
            value: sha256Json(readManifest(manifestFile)),
          },
        ]
      : []),
  ]);
  if (manifestPresent) {
    // Same content, other bytes (reformatted, or the record's byte hash edited): name the file.
    agree([
      { file: manifestFile, what: 'file SHA-256', value: manifestBytes },
      { file: recordFile, what: 'scenario.fileSha256', value: record.scenario.fileSha256 },
    ]);
  }
  if (origMeta) {
    // Whether the original was trained under this (verified) scenario, as the record states it.
    const trainedUnder = origMeta.scenarioHash
      ? origMeta.scenarioHash === record.scenario.manifestSha256
      : null;
    agree([
      {
        file: recordFile,
        what: 'scenario.matchesCheckpoint',
        value: String(record.scenario.matchesCheckpoint),
      },
      { file: origMetaFile, what: 'scenarioHash (matches)', value: String(trainedUnder) },
    ]);
  }
  print(
    manifestPresent
      ? `manifest   ${manifestFile}: file and content hashes match the record and ${METADATA_FILE}`
      : `manifest   ${manifestFile}: absent; the record's manifest hash ${short(record.scenario.manifestSha256)} matches ${METADATA_FILE}`,
  );
  print('OK');
}

export function register(program: Command): void {
  program
    .command('verify')
    .description(
      'check a checkpoint against its metadata and, if unlearned, its deletion record (hashes of weights, original, manifest)',
    )
    .argument('<dir>', 'checkpoint directory (uib train or uib unlearn)')
    .option('--backend <name>', 'compute backend used to rebuild the model (default: cpu)', (v) =>
      parseBackendName(v),
    )
    .action(async (dir: string, flags: VerifyFlags) => {
      await runVerify(dir, flags);
    });
}
