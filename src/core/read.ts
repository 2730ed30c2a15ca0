/**
 * The one way uib reads a file it did not just write itself: checkpoints, manifests, records,
 * Fisher caches, experiment files, data sets, lock files.
 *
 * - Regular files only. The file is opened without blocking (a FIFO would otherwise hang the
 *   open until a writer came) and checked with fstat on the open descriptor, so a file swapped
 *   for a FIFO, a device (/dev/zero) or a directory between a check and the read is still
 *   refused. Symlinks are followed; with `within`, the resolved path must stay inside a directory.
 * - A size cap that the caller derives from what its format can justify, checked before anything
 *   is allocated; reading stops at the size fstat gave, so a file that grows is refused, not
 *   followed.
 * - JSON parsed with a depth limit and without `__proto__` keys: V8's JSON.parse copes
 *   with 200,000-deep nesting, the recursive code after it (schema checks, hashing, comparison)
 *   does not, and a `__proto__` key turns into a prototype as soon as a value is copied by
 *   assignment.
 *
 * Every failure is a one-line UsageError naming the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeErrno, UsageError } from './errors.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Nesting deeper than this is refused: uib's own files nest at most ~12 levels. */
export const MAX_JSON_DEPTH = 64;

/** The key that would reach an object's prototype when copied by assignment. */
const FORBIDDEN_KEYS = new Set(['__proto__']);

export interface ReadOptions {
  /** Largest size accepted in bytes: what the format can justify. */
  maxBytes: number;
  /** The exact size expected (a weights file whose size a manifest declared), if known. */
  expectBytes?: number;
  /** The file, symlinks resolved, must lie inside this directory (symlinks resolved too). */
  within?: string;
  /** The problem to state when the file does not exist (default "no such file"). */
  missing?: string;
  /** What the file is, for messages ("a scenario manifest"). */
  what?: string;
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Whether `file` exists at all (a dangling symlink counts: reading it will say what is wrong). */
export function exists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Whether `file` is (or links to) a regular file. */
export function isRegularFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function checkWithin(file: string, dir: string): void {
  let real: string;
  let root: string;
  try {
    real = fs.realpathSync(file);
    root = fs.realpathSync(dir);
  } catch (e) {
    throw new UsageError(file, describeErrno(e));
  }
  const rel = path.relative(root, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel))
    throw new UsageError(file, `resolves to ${real}, outside ${dir}`);
}

/** The bytes of a regular file, with every check of the module's header. */
export function readFileChecked(file: string, opts: ReadOptions): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(file, opts.missing ?? 'no such file');
    // A Unix socket cannot be opened at all (ENXIO): say what it is.
    if (code === 'ENXIO') throw new UsageError(file, 'is a socket or a device, not a regular file');
    throw new UsageError(file, `cannot read: ${describeErrno(e)}`);
  }
  try {
    const st = fs.fstatSync(fd);
    const what = opts.what ? ` (expected ${opts.what})` : '';
    if (!st.isFile()) throw new UsageError(file, `is ${kindOf(st)}, not a regular file${what}`);
    if (opts.within !== undefined) checkWithin(file, opts.within);
    if (st.size > opts.maxBytes) {
      throw new UsageError(
        file,
        `is ${st.size} bytes; ${opts.what ?? 'this file'} is at most ${opts.maxBytes} bytes`,
      );
    }
    if (opts.expectBytes !== undefined && st.size !== opts.expectBytes) {
      throw new UsageError(file, `is ${st.size} bytes; expected ${opts.expectBytes}`);
    }
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = fs.readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    const probe = Buffer.alloc(1);
    if (off !== st.size || fs.readSync(fd, probe, 0, 1, st.size) !== 0)
      throw new UsageError(file, 'changed size while being read');
    return buf;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(file, `cannot read: ${describeErrno(e)}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** A regular file's text (UTF-8). */
export function readTextChecked(file: string, opts: ReadOptions): string {
  return readFileChecked(file, opts).toString('utf8');
}

/**
 * Check a parsed JSON/YAML value: nesting at most `maxDepth`, no key that reaches a prototype.
 * Iterative, so a deep value cannot overflow the stack here either.
 */
export function checkJsonValue(value: unknown, where: string, maxDepth = MAX_JSON_DEPTH): void {
  const stack: { v: unknown; depth: number; at: string }[] = [{ v: value, depth: 0, at: '' }];
  while (stack.length > 0) {
    const { v, depth, at } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth)
      throw new UsageError(where, `nests deeper than ${maxDepth} levels (at ${at || 'the top'})`);
    if (Array.isArray(v)) {
      // Long arrays of numbers (index lists) are the common case: skip them cheaply.
      for (let i = 0; i < v.length; i++)
        if (v[i] !== null && typeof v[i] === 'object')
          stack.push({ v: v[i], depth: depth + 1, at: `${at}[${i}]` });
      continue;
    }
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(k))
        throw new UsageError(where, `key "${k}" is not allowed (at ${at || 'the top'})`);
      const child = (v as Record<string, unknown>)[k];
      if (child !== null && typeof child === 'object')
        stack.push({ v: child, depth: depth + 1, at: at ? `${at}.${k}` : k });
    }
  }
}

/** Parse JSON text from `where`, then `checkJsonValue`. */
export function parseJsonChecked(text: string, where: string, maxDepth = MAX_JSON_DEPTH): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(where, `is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  checkJsonValue(value, where, maxDepth);
  return value;
}

/** Read and parse a JSON file with every check above. */
export function readJsonChecked(file: string, opts: ReadOptions & { maxDepth?: number }): unknown {
  return parseJsonChecked(readTextChecked(file, opts), file, opts.maxDepth);
}
