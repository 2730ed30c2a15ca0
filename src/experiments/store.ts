/**
 * The output directory of `uib run`: one record per finished unit of work, written atomically, so
 * an interrupted run resumes where it stopped and a reader never sees half a result.
 *
 *   OUT/results.json, results.md, report.html     assembled from the records below
 *   OUT/cells/<scenario>/seed-<s>/<method>.json   one (scenario, seed, method) cell
 *   OUT/cells/<scenario>/seed-<s>/_original.json  the original model's record (likewise _retrain,
 *                                                 _retrain-1 … for the Retrain ensemble)
 *   OUT/cells/<scenario>/seed-<s>/_scenario.json  manifest hash, split sizes, example images
 *   OUT/cache/                                    trained models and manifests, by content hash
 *                                                 (a manifest with its SHA-256 beside it, .sha256)
 *   OUT/.lock                                     the pid of the run using the directory
 *
 * The records go through an ArtifactStore (artifact-store.ts) under these paths as keys; each
 * carries its own SHA-256 (`recordSha256`), checked on every read. A record that is missing,
 * damaged (its hash differs), unhashed (an older uib wrote it) or of another schema is a miss:
 * the unit is recomputed, and every such record but a missing one is named in a warning first.
 */
import { z } from 'zod';
import { isUsageError, oneLine, UsageError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import { MiB } from '../core/read.ts';
import { MANIFEST_MAX_BYTES } from '../data/scenarios/manifest.ts';
import { type ArtifactStore, DirectoryStore, openRecord, sealRecord } from './artifact-store.ts';
import { type Cell, CellSchema, type Reference, ReferenceSchema } from './results-schema.ts';

export const SeedScenarioSchema = z.object({
  scenario: z.string(),
  seed: z.number(),
  manifestHash: z.string(),
  counts: z.record(z.string(), z.number()),
  /** Model input shape and class count, so a finished run can be recognised without the data. */
  sampleShape: z.array(z.number()),
  numClasses: z.number(),
  forgetExamples: z.array(z.object({ label: z.number(), png: z.string() })),
  classNames: z.array(z.string()),
});
export type SeedScenario = z.infer<typeof SeedScenarioSchema>;

/**
 * A stored record: the largest is `_scenario.json` with up to 64 example PNGs (32×32 RGB, ≤ 5 KiB
 * each in base64, ≤ 0.4 MB) or a cell of a 100-class set (a 100×100 confusion matrix, ~0.1 MB);
 * 16 MiB is ×40.
 */
export const RECORD_MAX_BYTES = 16 * MiB;

/** A manifest's SHA-256 file: 64 hex digits and a newline. */
const SIDECAR_MAX = 128;

/** Warnings already given in this process, by file, problem and content: one line for each. */
const warned = new Set<string>();

export interface RunStoreOptions {
  /** Where the one-line warnings about damaged records go (default: stderr). */
  warn?: (line: string) => void;
}

export class RunStore {
  readonly artifacts: ArtifactStore;
  private readonly warn: (line: string) => void;

  /** `artifacts` may be a directory's path: the directory store over it. */
  constructor(artifacts: ArtifactStore | string, opts: RunStoreOptions = {}) {
    this.artifacts = typeof artifacts === 'string' ? new DirectoryStore(artifacts) : artifacts;
    this.warn = opts.warn ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** The run directory `dir` as a store. */
  static inDirectory(dir: string, opts: RunStoreOptions = {}): RunStore {
    return new RunStore(new DirectoryStore(dir), opts);
  }

  /** The store, for messages (the run directory). */
  get location(): string {
    return this.artifacts.location;
  }

  /**
   * The cache as a local directory: model checkpoints and shadow statistics are written there by
   * code that takes a path (models/checkpoint.ts, shadow.ts).
   */
  get cacheDir(): string {
    return this.local('cache');
  }

  /** The directory of the checkpoint cached under `key` (a local one: see `cacheDir`). */
  modelDir(key: string): string {
    return this.local(`cache/models/${key}`);
  }

  private local(key: string): string {
    if (!this.artifacts.localPath)
      throw new UsageError(
        this.location,
        'this store has no local directory for the model cache (checkpoints need one)',
      );
    return this.artifacts.localPath(key);
  }

  /** Whether a checkpoint is stored under `key` (its own hashes are checked when it is loaded). */
  hasModel(key: string): Promise<boolean> {
    return this.artifacts.has(`cache/models/${key}/metadata.json`);
  }

  private cellKey(scenario: string, seed: number, label: string): string {
    return `cells/${fileName(scenario)}/seed-${seed}/${fileName(label)}.json`;
  }

  private refKey(scenario: string, seed: number, role: string, member = 0): string {
    const name = `_${role}${member > 0 ? `-${member}` : ''}`;
    return `cells/${fileName(scenario)}/seed-${seed}/${name}.json`;
  }

  /** Where a cell's record is, for messages and tests (a path, for a directory). */
  cellPath(scenario: string, seed: number, label: string): string {
    return this.artifacts.describe(this.cellKey(scenario, seed, label));
  }

  readCell(scenario: string, seed: number, label: string): Promise<Cell | null> {
    return this.readRecord(this.cellKey(scenario, seed, label), CellSchema);
  }

  writeCell(cell: Cell): Promise<void> {
    return this.writeRecord(this.cellKey(cell.scenario, cell.seed, cell.method), cell);
  }

  /** A reference record; `member` numbers the Retrain ensemble (0: `_retrain.json`, k: `_retrain-k.json`). */
  readReference(
    scenario: string,
    seed: number,
    role: 'original' | 'retrain',
    member = 0,
  ): Promise<Reference | null> {
    return this.readRecord(this.refKey(scenario, seed, role, member), ReferenceSchema);
  }

  writeReference(ref: Reference): Promise<void> {
    return this.writeRecord(this.refKey(ref.scenario, ref.seed, ref.role, ref.member), ref);
  }

  readSeedScenario(scenario: string, seed: number): Promise<SeedScenario | null> {
    return this.readRecord(this.refKey(scenario, seed, 'scenario'), SeedScenarioSchema);
  }

  writeSeedScenario(info: SeedScenario): Promise<void> {
    return this.writeRecord(this.refKey(info.scenario, info.seed, 'scenario'), info);
  }

  /** Where the cached manifest `name` (`<request hash>.json`) is, for messages. */
  manifestPath(name: string): string {
    return this.artifacts.describe(`cache/manifests/${name}`);
  }

  /**
   * The cached manifest `name` as text, checked against the SHA-256 stored beside it; null when
   * either is missing or they disagree (a warning then names the file). The manifest stays the
   * plain JSON `uib scenario` writes, so its hash is a file of its own (`<name>.sha256`).
   */
  async readManifest(name: string): Promise<string | null> {
    const key = `cache/manifests/${name}`;
    const where = this.artifacts.describe(key);
    const bytes = await this.getOrWarn(key, MANIFEST_MAX_BYTES);
    if (!bytes) return null;
    const side = await this.getOrWarn(`${key}.sha256`, SIDECAR_MAX);
    const claimed = side ? Buffer.from(side).toString('utf8').trim() : null;
    if (claimed === null) {
      this.damaged(where, bytes, 'has no SHA-256 beside it (.sha256: damaged, or an older uib)');
      return null;
    }
    if (sha256(bytes) !== claimed) {
      this.damaged(where, bytes, 'differs from the SHA-256 beside it (damaged or edited)');
      return null;
    }
    return Buffer.from(bytes).toString('utf8');
  }

  /** Store a manifest and its SHA-256: the hash first, so a manifest is never there without it. */
  async writeManifest(name: string, text: string): Promise<void> {
    const key = `cache/manifests/${name}`;
    const bytes = Buffer.from(text, 'utf8');
    await this.artifacts.put(`${key}.sha256`, Buffer.from(`${sha256(bytes)}\n`, 'utf8'));
    await this.artifacts.put(key, bytes);
  }

  async removeManifest(name: string): Promise<void> {
    const key = `cache/manifests/${name}`;
    await this.artifacts.remove(key);
    await this.artifacts.remove(`${key}.sha256`);
  }

  /**
   * Claim the run for this process. A lock left by a process that no longer runs (a killed run)
   * is taken over; one held by a live process is refused. The lock is the directory store's
   * (artifact-store.ts says why); another store cannot hold a run's coordinator yet.
   */
  lock(): () => void {
    if (!this.artifacts.lock)
      throw new UsageError(this.location, 'this store cannot lock a run (a directory store can)');
    return this.artifacts.lock(
      '.lock',
      (pid) =>
        new UsageError(
          this.location,
          `is in use by another uib run (pid ${pid}); wait for it or choose another --out`,
        ),
    );
  }

  /** Remove temp files an interrupted writer left (`.name.tmp-*`); none is ever a result. */
  removeStaleTemps(): number {
    return this.artifacts.removeTemps?.() ?? 0;
  }

  private async writeRecord(key: string, value: object): Promise<void> {
    await this.artifacts.put(key, sealRecord(value));
  }

  /** A stored record, or null when absent or unusable (it is then recomputed). */
  private async readRecord<T>(key: string, schema: z.ZodType<T>): Promise<T | null> {
    const bytes = await this.getOrWarn(key, RECORD_MAX_BYTES);
    if (!bytes) return null;
    const where = this.artifacts.describe(key);
    const opened = openRecord(bytes, where);
    if (!opened.ok) {
      this.damaged(where, bytes, opened.problem);
      return null;
    }
    const r = schema.safeParse(opened.value);
    if (!r.success) {
      const issue = r.error.issues[0];
      const at = issue.path.join('.') || '(top level)';
      this.damaged(where, bytes, `is not a record of its kind (${at}: ${issue.message})`);
      return null;
    }
    return r.data;
  }

  /** The bytes under `key`; null when missing or unreadable (a FIFO, oversized: warned). */
  private async getOrWarn(key: string, maxBytes: number): Promise<Uint8Array | null> {
    try {
      return await this.artifacts.get(key, { maxBytes });
    } catch (e) {
      if (!isUsageError(e)) throw e; // the store failing (a network error) is not a miss
      this.damaged(this.artifacts.describe(key), null, e.problem);
      return null;
    }
  }

  private damaged(where: string, bytes: Uint8Array | null, problem: string): void {
    const id = `${where}\0${problem}\0${bytes ? sha256(bytes) : ''}`;
    if (warned.has(id)) return;
    warned.add(id);
    this.warn(
      `warning: ${oneLine(new UsageError(where, `${problem}; not used, recomputed`).message)}`,
    );
  }
}

/** A label as a file name: ids stay readable (`ft+uib`), anything else is percent-encoded. */
export function fileName(label: string): string {
  return label.replace(
    /[^A-Za-z0-9+._-]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
