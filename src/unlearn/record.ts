/**
 * The deletion record: what `uib unlearn` did to which model for which request, written as JSON
 * beside the unlearned checkpoint (`deletion-record.json`), in the same atomic directory write.
 * It names the request by the SHA-256 of its scenario manifest, the models by the SHA-256 of their
 * weights files, and keeps the validated hyper-parameters, the seed, the cost (time per phase,
 * per-example gradient evaluations, epochs of data touched), where the curvature came from (a
 * cached F_D or a subsample of D_r), the backend and the versions. `uib verify` reads it back.
 */
import * as fs from 'node:fs';
import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { UsageError } from '../core/errors.ts';

export const RECORD_FILE = 'deletion-record.json';
export const RECORD_FORMAT = 'uib-deletion-record/1';

const sha = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256');

export const DeletionRecord = z.object({
  format: z.literal(RECORD_FORMAT),
  method: z.string(),
  /** The hyper-parameters after validation (defaults filled in). */
  params: z.record(z.string(), z.unknown()),
  seed: z.number().int(),
  scenario: z.object({
    file: z.string(),
    /** sha256Json of the parsed manifest (what checkpoints' `scenarioHash` holds). */
    manifestSha256: sha,
    /** SHA-256 of the manifest file's bytes. */
    fileSha256: sha,
    kind: z.string(),
    counts: z.object({
      train: z.number(),
      forget: z.number(),
      retain: z.number(),
      test: z.number(),
    }),
    /** Whether the original checkpoint says it was trained under this manifest (null: it does not say). */
    matchesCheckpoint: z.boolean().nullable(),
  }),
  original: z.object({ checkpoint: z.string(), weightsSha256: sha }),
  unlearned: z.object({ checkpoint: z.string(), weightsSha256: sha }),
  /** Where the curvature of the prior came from (UIB-IF and `+uib`), or null for other methods. */
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
  backend: z.string(),
  versions: z.object({ uib: z.string(), tfjs: z.string(), node: z.string() }),
  createdAt: z.string(),
});
export type DeletionRecord = z.infer<typeof DeletionRecord>;

/** The curvature source of a run, from the prior record UIB methods put in `details.prior`. */
export function curvatureOf(details: Record<string, unknown>): DeletionRecord['curvature'] {
  const p = details.prior as { kind?: string; source?: string; fisherSamples?: number } | undefined;
  if (!p || typeof p.kind !== 'string' || (p.source !== 'cache' && p.source !== 'subsample'))
    return null;
  return { kind: p.kind, source: p.source, samples: p.fisherSamples ?? 0 };
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

/** Check a record and write it atomically. */
export function writeDeletionRecord(file: string, record: DeletionRecord): void {
  const r = DeletionRecord.safeParse(record);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`deletion record: ${issue.path.join('.')}: ${issue.message}`);
  }
  writeJsonAtomic(file, r.data);
}

/** Read and check a deletion record; a malformed one is a one-line UsageError naming the file. */
export function readDeletionRecord(file: string): DeletionRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(file, err.code ? `cannot read (${err.code})` : 'not valid JSON');
  }
  const r = DeletionRecord.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UsageError(file, `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return r.data;
}
