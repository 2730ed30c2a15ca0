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
 *   assignment. YAML likewise, with the nesting bounded from its tokens before the yaml package
 *   (which recurses) sees it.
 *
 * Every failure is a one-line UsageError naming the file.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML, { CST, Lexer } from 'yaml';
import { describeErrno, UsageError } from './errors.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Nesting deeper than this is refused: uib's own files nest at most ~12 levels. */
export const MAX_JSON_DEPTH = 64;

/**
 * Largest nesting bound (`yamlNestingBound`) handed to the yaml package. yaml composes
 * recursively and overflowed the stack at 780–900 levels here; after one overflow a second has
 * aborted V8 outright (out of memory in its RegExp compiler), so deep text must never reach it.
 */
export const YAML_MAX_NESTING_BOUND = 4 * MAX_JSON_DEPTH;

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
  return 'of an unknown kind';
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
  // `..name` is a file inside; only a first component of exactly `..` leaves.
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel))
    throw new UsageError(file, `resolves to ${real}, outside ${dir}`);
}

/** The bytes of a regular file, with every check of the module's header. */
export function readFileChecked(file: string, opts: ReadOptions): Buffer {
  const what = opts.what ? ` (expected ${opts.what})` : '';
  const refuse = (st: fs.Stats) =>
    new UsageError(file, `is ${kindOf(st)}, not a regular file${what}`);
  const cannot = (e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      return new UsageError(file, opts.missing ?? 'no such file');
    return new UsageError(file, `cannot read: ${describeErrno(e)}`);
  };
  // Refuse what is plainly not a regular file before opening it: opening a device can have
  // effects of its own (a tape rewinds, a terminal becomes the controlling one).
  try {
    const pre = fs.statSync(file);
    if (!pre.isFile()) throw refuse(pre);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw cannot(e);
  }
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    // A Unix socket swapped in after the stat cannot be opened at all (ENXIO): say what it is.
    if ((e as NodeJS.ErrnoException).code === 'ENXIO')
      throw new UsageError(file, 'is a socket or a device, not a regular file');
    throw cannot(e);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw refuse(st);
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

/** A value's path for a message: a 64-deep one is cut in the middle to stay readable. */
function shortPath(at: string): string {
  if (at === '') return 'the top';
  return at.length <= 80 ? at : `${at.slice(0, 48)}…${at.slice(-24)}`;
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
      throw new UsageError(where, `nests deeper than ${maxDepth} levels (at ${shortPath(at)})`);
    if (Array.isArray(v)) {
      // Long arrays of numbers (index lists) are the common case: skip them cheaply.
      for (let i = 0; i < v.length; i++)
        if (v[i] !== null && typeof v[i] === 'object')
          stack.push({ v: v[i], depth: depth + 1, at: `${at}[${i}]` });
      continue;
    }
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(k))
        throw new UsageError(where, `key "${k}" is not allowed (at ${shortPath(at)})`);
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

/**
 * An upper bound on how deep YAML text nests, from the lexer's tokens (the lexer is iterative).
 * Flow brackets count exactly. A block collection that holds a token starts at or left of the
 * token's column, and at most two start at one column (a map, and a sequence as its value), so
 * block nesting at an indicator (`-`, `?`, `:`) or a flow bracket in column c is at most 2(c+1).
 */
export function yamlNestingBound(text: string, stopAbove = Number.POSITIVE_INFINITY): number {
  let col = 0;
  let flow = 0;
  let base = 0; // block bound around the outermost open flow collection
  let max = 0;
  let scalarSource = false; // the token after a scalar marker is the scalar's text, whatever it looks like
  for (const tok of new Lexer().lex(text)) {
    const type: string | null = scalarSource ? 'scalar-text' : CST.tokenType(tok);
    scalarSource = type === 'scalar';
    // Markers the lexer inserts are not part of the text.
    if (type === 'scalar' || type === 'doc-mode') continue;
    if (type === 'flow-error-end') {
      flow = 0;
      continue;
    }
    if (type === 'seq-item-ind' || type === 'explicit-key-ind' || type === 'map-value-ind') {
      if (flow === 0) max = Math.max(max, 2 * (col + 1));
    } else if (type === 'flow-seq-start' || type === 'flow-map-start') {
      if (flow === 0) base = 2 * (col + 1);
      flow++;
      max = Math.max(max, base + flow);
    } else if ((type === 'flow-seq-end' || type === 'flow-map-end') && flow > 0) flow--;
    if (max > stopAbove) return max; // enough to refuse: skip the rest of a large file
    const nl = tok.lastIndexOf('\n');
    col = nl < 0 ? col + tok.length : tok.length - nl - 1;
  }
  return max;
}

/**
 * Parse YAML text from `where` with the checks of `parseJsonChecked`. The nesting is bounded
 * from the tokens first (see YAML_MAX_NESTING_BOUND), then the value is checked exactly.
 */
export function parseYamlChecked(text: string, where: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (yamlNestingBound(text, YAML_MAX_NESTING_BOUND) > YAML_MAX_NESTING_BOUND)
    throw new UsageError(
      where,
      `nests too deeply to parse safely (its brackets and indentation allow over ${YAML_MAX_NESTING_BOUND} levels; at most ${maxDepth} are accepted)`,
    );
  let value: unknown;
  try {
    value = YAML.parse(text);
  } catch (e) {
    // yaml reports a stack overflow as a parse error; a RangeError may still escape its toJS.
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new UsageError(where, `is not valid YAML (${first})`);
  }
  checkJsonValue(value, where, maxDepth);
  return value;
}

/** SHA-256 of a regular file, read in 1 MiB chunks (a record may name any path: no device, no FIFO). */
export function fileSha256(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new UsageError(file, `cannot read: ${describeErrno(e)}`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new UsageError(file, 'is not a regular file');
    const hash = createHash('sha256');
    const chunk = Buffer.alloc(1 << 20);
    for (let n = fs.readSync(fd, chunk); n > 0; n = fs.readSync(fd, chunk))
      hash.update(chunk.subarray(0, n));
    return hash.digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}
