/**
 * The deletion record: what `uib unlearn` did to which model for which request, written as JSON
 * beside the unlearned checkpoint (`deletion-record.json`), in the same atomic directory write.
 * It names the request by the SHA-256 of its scenario manifest, the models by the SHA-256 of their
 * weights files, and keeps the validated hyper-parameters, the seed, the cost (time per phase,
 * per-example gradient evaluations, epochs of data touched), where the curvature came from (a
 * cached F_D or a subsample of D_r), the backend and the versions. `uib verify` reads it back.
 */
import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { UsageError } from '../core/errors.ts';
import { MiB, readJsonChecked } from '../core/read.ts';

export const RECORD_FILE = 'deletion-record.json';
export const RECORD_FORMAT = 'uib-deletion-record/2';
/**
 * A record's `details` hold per-layer facts (λ_l, step norms): ResNet-18's are ~50 KB, a large
 * model's of your own (own-record.ts) stay far below this too.
 */
const RECORD_MAX_BYTES = 16 * MiB;

/** What every deletion record states about the run itself (shared with the own-model record). */
export const RUN_FACTS = {
  curvature: z
    .object({
      kind: z.string(),
      source: z.enum(['cache', 'subsample']),
      samples: z.number(),
    })
    .nullable(),
  stats: z.object({
    timeMs: z.number(),
    /** Time per phase in ms (UIB: fisher, prior, finetune). */
    phases: z.record(z.string(), z.number()),
    gradEvals: z.number(),
    forwardEvals: z.number(),
    epochsTouched: z.number(),
  }),
  /** Method-specific facts (the prior's λ_l, α and step norms; SalUn's mask density; ...). */
  details: z.record(z.string(), z.unknown()),
  /** What fixes the bits besides the seed (backend/environment.ts). */
  environment: z.object({
    backend: z.string(),
    route: z.string(),
    threads: z.number().int().min(1),
    addon: z.boolean(),
    /** The native route's BLAS (absent in records written before there were two). */
    blas: z.enum(['openblas', 'builtin']).nullable().optional(),
    tfjs: z.string(),
    node: z.string(),
  }),
  versions: z.object({ uib: z.string(), tfjs: z.string(), node: z.string() }),
  createdAt: z.string(),
};

/**
 * How the original checkpoint relates to the manifest's training set: trained under this very
 * manifest, trained on the same training set (another deletion request on the same data), or a
 * deletion the user declared from another data set (`--other-training-set`).
 */
export const TRAINING_RELATIONS = ['trained-under', 'same-training-set', 'declared-other'] as const;

const sha = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');

export const DeletionRecord = z.object({
  format: z.literal(RECORD_FORMAT),
  method: z.string(),
  /** The hyper-parameters after validation (defaults filled in). */
  params: z.record(z.string(), z.unknown()),
  /** sha256Json of `params` (metadata.json's `extra.paramsSha256` repeats it). */
  paramsSha256: sha,
  seed: z.number().int().min(0).max(0xffffffff),
  scenario: z.object({
    file: z.string(),
    /** sha256Json of the parsed manifest (what checkpoints' `scenarioHash` holds). */
    manifestSha256: sha,
    /** SHA-256 of the manifest file's bytes. */
    fileSha256: sha,
    kind: z.string(),
    /** The manifest's scenario seed (the unlearning run's own seed is `seed` above). */
    seed: z.number().int(),
    dataset: z.string(),
    /** The manifest's `inputsHash.train`: the training set's samples and labels, in order. */
    trainSetSha256: sha,
    counts: z.object({
      train: z.number(),
      forget: z.number(),
      retain: z.number(),
      test: z.number(),
    }),
    /** Whether the original checkpoint says it was trained under this manifest. */
    matchesCheckpoint: z.boolean(),
    relation: z.enum(TRAINING_RELATIONS),
  }),
  original: z.object({
    checkpoint: z.string(),
    weightsSha256: sha,
    /** Largest magnitude of each weight tensor: the scale the unlearned weights are bounded by. */
    weightScale: z.record(z.string(), z.number()),
  }),
  unlearned: z.object({ checkpoint: z.string(), weightsSha256: sha }),
  /** The F_D cache the prior read (SHA-256 of fisher.json and fisher.bin as read), or null. */
  fisherCache: z.object({ dir: z.string(), jsonSha256: sha, binSha256: sha }).nullable(),
  /** Where the curvature of the prior came from (UIB-IF and `+uib`), or null for other methods. */
  ...RUN_FACTS,
});
export type DeletionRecord = z.infer<typeof DeletionRecord>;

/** The curvature source of a run, from the prior record UIB methods put in `details.prior`. */
export function curvatureOf(details: Record<string, unknown>): DeletionRecord['curvature'] {
  const p = details.prior as { kind?: string; source?: string; fisherSamples?: number } | undefined;
  if (!p || typeof p.kind !== 'string' || (p.source !== 'cache' && p.source !== 'subsample'))
    return null;
  return { kind: p.kind, source: p.source, samples: p.fisherSamples ?? 0 };
}

/** The F_D cache the prior read, from `details.prior.cache` (set by fisher-cache.ts), or null. */
export function fisherCacheOf(
  details: Record<string, unknown>,
  checkpointDir: string,
): DeletionRecord['fisherCache'] {
  const c = (details.prior as { cache?: { jsonSha256?: unknown; binSha256?: unknown } } | undefined)
    ?.cache;
  if (!c || typeof c.jsonSha256 !== 'string' || typeof c.binSha256 !== 'string') return null;
  return { dir: checkpointDir, jsonSha256: c.jsonSha256, binSha256: c.binSha256 };
}

/** JSON-safe copy: typed arrays become plain arrays, non-finite numbers null. */
export function jsonSafe(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v) => {
      if (ArrayBuffer.isView(v) && !(v instanceof DataView))
        return Array.from(v as unknown as ArrayLike<number>);
      if (typeof v === 'number' && !Number.isFinite(v)) return null;
      return v;
    }),
  );
}

/** Check a record against its `schema` and write it atomically (either kind of record). */
export function writeRecord<S extends z.ZodType>(
  file: string,
  schema: S,
  record: z.output<S>,
): void {
  const r = schema.safeParse(record);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`deletion record: ${issue.path.join('.')}: ${issue.message}`);
  }
  writeJsonAtomic(file, r.data);
}

/** A record file's JSON, and the `format` it declares (null when that is not a string). */
export function readRecordFile(file: string): { raw: unknown; format: string | null } {
  const raw = readJsonChecked(file, { maxBytes: RECORD_MAX_BYTES });
  const format = (raw as { format?: unknown } | null)?.format;
  return { raw, format: typeof format === 'string' ? format : null };
}

/** A record read back, checked against its `schema`; a malformed one is a one-line UsageError. */
export function checkRecord<S extends z.ZodType>(
  file: string,
  schema: S,
  raw: unknown,
): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UsageError(file, `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return r.data;
}

/** Check a record and write it atomically. */
export function writeDeletionRecord(file: string, record: DeletionRecord): void {
  writeRecord(file, DeletionRecord, record);
}

/** Read and check a deletion record; a malformed one is a one-line UsageError naming the file. */
export function readDeletionRecord(file: string): DeletionRecord {
  const { raw, format } = readRecordFile(file);
  // A user model's record (own-record.ts) is not from another version: say what it is.
  if (format?.startsWith('uib-deletion-record/own-'))
    throw new UsageError(
      file,
      `is the record of a model of your own (${format}); read it with readOwnDeletionRecord`,
    );
  if (format?.startsWith('uib-deletion-record/') && format !== RECORD_FORMAT)
    throw new UsageError(
      file,
      `format ${format} was written by another uib version; this one reads ${RECORD_FORMAT} (unlearn again to get a record it can verify)`,
    );
  return checkRecord(file, DeletionRecord, raw);
}
