/**
 * The deletion record of a model of the user's own (`uib unlearn --model`), format
 * `uib-deletion-record/own-1`: what was done to which tfjs model for which request over which
 * data. It differs from a checkpoint's record (record.ts) in what names the inputs: the model by
 * the SHA-256 of its model.json and weight files as stored (`sha256sum` prints the same), the data
 * by the loader's SHA-256 (data/user/types.ts), the request by its parts (a forget file by its
 * SHA-256), and it points at the evidence written beside it. `uib verify` recomputes the hashes.
 */
import { z } from 'zod';
import { UsageError } from '../core/errors.ts';
import { checkRecord, RUN_FACTS, readRecordFile, writeRecord } from './record.ts';

export const OWN_RECORD_FORMAT = 'uib-deletion-record/own-1';

const sha = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');
const FileHash = z.object({ name: z.string(), bytes: z.number().int().min(0), sha256: sha });
export type FileHash = z.infer<typeof FileHash>;

const DataRef = z.object({
  /** The paths given (`--data` / `--test`), absolute. */
  paths: z.array(z.string()).min(1),
  format: z.string(),
  /** The loader's SHA-256 over the files it read (docs/datasets.md, "Hashes"). */
  sha256: sha,
  files: z.number().int().min(0),
  n: z.number().int().min(0),
  sampleShape: z.array(z.number().int()),
  numClasses: z.number().int(),
  /** The loader options that change what is read (CSV: label and id columns). */
  options: z.object({ label: z.string().optional(), id: z.string().optional() }),
});

/** One part of the request, as data/user/forget-request.ts records it. */
const RequestPart = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('file'),
    file: z.string(),
    format: z.enum(['json', 'csv', 'text']),
    sha256: sha,
    count: z.number(),
  }),
  z.object({ kind: z.literal('ids'), count: z.number() }),
  z.object({
    kind: z.literal('class'),
    class: z.number(),
    className: z.string(),
    count: z.number(),
  }),
  z.object({ kind: z.literal('where'), key: z.string(), value: z.string(), count: z.number() }),
]);

const Recipe = z.object({
  optimizer: z.record(z.string(), z.unknown()),
  epochs: z.number(),
  batchSize: z.number(),
  seed: z.number(),
});

export const OwnDeletionRecord = z.object({
  format: z.literal(OWN_RECORD_FORMAT),
  method: z.string(),
  /** The hyper-parameters after validation (defaults filled in). */
  params: z.record(z.string(), z.unknown()),
  paramsSha256: sha,
  seed: z.number().int().min(0).max(0xffffffff),
  original: z.object({
    /** model.json's absolute path. */
    modelJson: z.string(),
    /** model.json and every weight file it lists, in manifest order, as stored. */
    files: z.array(FileHash).min(1),
    /** Largest magnitude of each weight tensor: the scale the unlearned weights are bounded by. */
    weightScale: z.record(z.string(), z.number()),
  }),
  unlearned: z.object({ dir: z.string(), files: z.array(FileHash).length(2) }),
  data: DataRef,
  test: DataRef.nullable(),
  request: z.object({
    parts: z.array(RequestPart).min(1),
    counts: z.object({ train: z.number(), forget: z.number(), retain: z.number() }),
  }),
  /** The training recipe (`--recipe`, with the file's SHA-256) or the default one used. */
  recipe: z.object({
    file: z.string().nullable(),
    sha256: sha.nullable(),
    value: Recipe,
  }),
  /** The retrained reference the evidence compares against (only with `--recipe`). */
  reference: z.object({ method: z.literal('retrain'), stats: z.unknown() }).nullable(),
  evidence: z.object({ file: z.string(), sha256: sha }),
  ...RUN_FACTS,
});
export type OwnDeletionRecord = z.infer<typeof OwnDeletionRecord>;

/** Check a record and write it atomically. */
export function writeOwnDeletionRecord(file: string, record: OwnDeletionRecord): void {
  writeRecord(file, OwnDeletionRecord, record);
}

/** Read and check a record; a malformed one is a one-line UsageError naming the file. */
export function readOwnDeletionRecord(file: string): OwnDeletionRecord {
  const { raw, format } = readRecordFile(file);
  if (format !== null && format !== OWN_RECORD_FORMAT)
    throw new UsageError(
      file,
      `format ${format} is not a record of a model of your own; this reads ${OWN_RECORD_FORMAT}`,
    );
  return checkRecord(file, OwnDeletionRecord, raw);
}

/** The `format` a record file declares, or null (not JSON, no format): what verify branches on. */
export function recordFormatOf(file: string): string | null {
  try {
    return readRecordFile(file).format;
  } catch {
    return null;
  }
}
