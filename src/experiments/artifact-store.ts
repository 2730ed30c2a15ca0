/**
 * The artifact store: where a run keeps what it computed, as blobs under relative, `/`-separated
 * keys (`cells/<scenario>/seed-<s>/<method>.json`, `cache/manifests/<hash>.json`). RunStore
 * (store.ts) files the run's records through it; `uib run --store DIR` and `uib worker --store
 * DIR` reach the same one.
 *
 * The contract is the one an object store offers, so that an S3-compatible store can implement it
 * and RunStore and the runner above it stay as they are: `put` is PutObject (atomic: a reader
 * sees the old object or the new one, never part of one), `get` GetObject (null on NoSuchKey),
 * `has` HeadObject, `list` ListObjectsV2 by prefix, `remove` DeleteObject. It is asynchronous
 * for that reason, though the directory store below does its work synchronously. Integrity is
 * not the store's: records carry their own SHA-256 (`sealRecord`, `openRecord`), checked by
 * whoever reads them, so a store only has to keep bytes.
 *
 * Three capabilities are the directory's own and optional here:
 * - `lock`: a pid file, which tells a live holder from a dead one only on the machine that wrote
 *   it (core/lock.ts). An object store has no pid to check; it would lock by a lease (a
 *   conditional put, If-None-Match, renewed while the run lives, taken over once expired) — a
 *   contract of its own, to be added beside this one when such a store is.
 * - `removeTemps`: a directory write goes through a temp file (core/atomic.ts) that a killed
 *   writer leaves behind; an object store's put leaves nothing half-done.
 * - `localPath`: model checkpoints (models/checkpoint.ts) and shadow statistics (shadow.ts) are
 *   still written by code that takes a directory; a store without a local path cannot hold them
 *   until that code goes through this interface too (docs/scale-out.md, "The store").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isTempName, writeFileAtomic } from '../core/atomic.ts';
import { describeErrno, UsageError } from '../core/errors.ts';
import { sha256Json } from '../core/hash.ts';
import { acquireLock } from '../core/lock.ts';
import { exists, parseJsonChecked, readFileChecked } from '../core/read.ts';

export interface ArtifactStore {
  /** The store as a whole, for messages: a directory, or a bucket and prefix. */
  readonly location: string;
  /** Where `key` is, for messages naming it: a path, or `s3://bucket/key`. */
  describe(key: string): string;
  /** Store `bytes` under `key`, replacing what was there; atomic. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /**
   * The bytes under `key`; null when there is nothing. Something there that cannot be read as a
   * blob of at most `maxBytes` (larger, a FIFO, a link out of the store) is a UsageError naming
   * it, never an allocation of what it claims.
   */
  get(key: string, opts: { maxBytes: number }): Promise<Uint8Array | null>;
  /** Whether anything is stored under `key` (`get` says whether it is good). */
  has(key: string): Promise<boolean>;
  /** Every key that starts with `prefix` (`''`: all), sorted; never a temp or a lock. */
  list(prefix: string): Promise<string[]>;
  /** Remove `key` (nothing there is not an error). */
  remove(key: string): Promise<void>;
  /** Take the lock `key` for this process or throw `busy(pid)`; returns the release. */
  lock?(key: string, busy: (pid: number) => UsageError): () => void;
  /** Remove what interrupted writers left; returns how many entries went. */
  removeTemps?(): number;
  /** Where `key` lives on this machine, for code that writes through the file system itself. */
  localPath?(key: string): string;
}

/**
 * A key is relative and `/`-separated; no segment is empty, `.` or `..`, or starts with a dot
 * (dot names are the directory store's own: temp files and the lock). Stores refuse others, so
 * no key reaches outside the store on any backend.
 */
export function checkKey(key: string): void {
  const bad =
    key === '' ||
    /[\\\0]/.test(key) ||
    key.split('/').some((s) => s === '' || s.startsWith('.') || s.length > 255);
  if (bad) throw new Error(`artifact key ${JSON.stringify(key)} is not a relative key`);
}

/** `prefix` is `''`, a key, or a key's leading part (an unfinished segment, or a trailing `/`). */
function checkPrefix(prefix: string): void {
  if (prefix === '') return;
  const head = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  // An unfinished last segment may be anything a segment starts with, except a dot.
  checkKey(head === '' ? '.' : head);
}

/** The store as a directory: every put through core/atomic.ts, every get through core/read.ts. */
export class DirectoryStore implements ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get location(): string {
    return this.root;
  }

  private file(key: string): string {
    checkKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  describe(key: string): string {
    return this.file(key);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    writeFileAtomic(this.file(key), bytes);
  }

  async get(key: string, opts: { maxBytes: number }): Promise<Uint8Array | null> {
    const file = this.file(key);
    if (!exists(file)) return null;
    try {
      // `within`: a record linked to a file outside the store is refused, not followed.
      return readFileChecked(file, { maxBytes: opts.maxBytes, within: this.root });
    } catch (e) {
      if (!exists(file)) return null; // removed while being read: as good as never there
      throw e;
    }
  }

  async has(key: string): Promise<boolean> {
    return exists(this.file(key));
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const cut = prefix.lastIndexOf('/');
    const start = cut < 0 ? '' : prefix.slice(0, cut);
    const keys: string[] = [];
    const walk = (dir: string, at: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return; // nothing there (or not a directory): no keys under it
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue; // temps and the lock are not artifacts
        const key = at === '' ? e.name : `${at}/${e.name}`;
        if (e.isDirectory()) walk(path.join(dir, e.name), key);
        else if (e.isFile() && key.startsWith(prefix)) keys.push(key);
      }
    };
    walk(start === '' ? this.root : this.file(start), start);
    return keys.sort();
  }

  async remove(key: string): Promise<void> {
    // Recursive: a directory squatting on a key (a damaged store) is cleared like a file.
    fs.rmSync(this.file(key), { recursive: true, force: true });
  }

  lock(key: string, busy: (pid: number) => UsageError): () => void {
    try {
      fs.mkdirSync(this.root, { recursive: true });
    } catch (e) {
      throw new UsageError(this.root, `cannot create the directory (${describeErrno(e)})`);
    }
    // The lock's name starts with a dot, as no key does: it is never listed or overwritten.
    return acquireLock(path.join(this.root, key), this.root, busy);
  }

  removeTemps(): number {
    let removed = 0;
    const walk = (dir: string) => {
      if (!fs.existsSync(dir)) return;
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (isTempName(e.name)) {
          fs.rmSync(p, { recursive: true, force: true });
          removed++;
        } else if (e.isDirectory()) walk(p);
      }
    };
    walk(this.root);
    return removed;
  }

  localPath(key: string): string {
    return this.file(key);
  }
}

// ─── records: JSON that carries its own SHA-256 ────────────────────────────────────────────────

/**
 * The member a sealed record holds its hash in: the SHA-256 of the record's other members as
 * canonical JSON (core/hash.ts `sha256Json`: keys sorted, no whitespace), so it is the same
 * whatever a store or an editor does to the layout, and any change of a value, key or string
 * byte shows. The record stays plain JSON with its own members at the top level.
 */
export const RECORD_HASH = 'recordSha256';

/** A JSON object's bytes with its SHA-256 added (`RECORD_HASH`), as they are stored. */
export function sealRecord(value: object): Uint8Array {
  // Hashed as it will read back: a JSON round trip drops undefined members, as the reader sees.
  const plain = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain) || RECORD_HASH in plain)
    throw new Error(`sealRecord: a JSON object without a member "${RECORD_HASH}" is required`);
  return Buffer.from(
    `${JSON.stringify({ [RECORD_HASH]: sha256Json(plain), ...plain }, null, 2)}\n`,
    'utf8',
  );
}

/** A sealed record's members (its hash taken off), or what is wrong with the bytes. */
export function openRecord(
  bytes: Uint8Array,
  where: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; problem: string } {
  let v: unknown;
  try {
    v = parseJsonChecked(Buffer.from(bytes).toString('utf8'), where);
  } catch (e) {
    const problem = e instanceof UsageError ? e.problem : String(e);
    return { ok: false, problem };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    return { ok: false, problem: 'is not a JSON object' };
  const { [RECORD_HASH]: claimed, ...rest } = v as Record<string, unknown>;
  if (typeof claimed !== 'string')
    return {
      ok: false,
      problem: `carries no ${RECORD_HASH} (damaged, or written by a uib from before records were hashed)`,
    };
  if (sha256Json(rest) !== claimed)
    return { ok: false, problem: `content differs from its ${RECORD_HASH} (damaged or edited)` };
  return { ok: true, value: rest };
}
