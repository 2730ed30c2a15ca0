/**
 * The user's deletion request, resolved against a loaded data set into sorted positions to forget
 * and the rest to retain. A request is one of (or a union of several):
 *
 * - `--forget FILE`: ids in a file — a JSON array (strings are ids, integers ≥ 0 are row numbers,
 *   i.e. the sample's 0-based row in the data as loaded), a CSV whose first line is a header (the
 *   column named `id`, or its only column), or text with one id per line (blank lines skipped).
 * - `--forget-class K`: a class name, or a class index (a name that matches wins).
 * - `--forget-where KEY=VALUE`: a systematic request by metadata — a CSV column's raw value
 *   (before encoding; `KEY=` selects missing values), a `key=value` sub-folder of an image folder,
 *   or `folder=NAME`: the images with a sub-folder NAME anywhere below their class folder.
 *
 * Ids not in the data are an error naming the first 5 and the count; so is a request (or part of
 * one) that selects nothing, and one that selects every sample.
 */
import * as path from 'node:path';
import { UsageError } from '../../core/errors.ts';
import { sha256 } from '../../core/hash.ts';
import { MiB, parseJsonChecked, readFileChecked } from '../../core/read.ts';
import type { Dataset } from '../dataset.ts';
import { parseCsvRecords } from './csv-parse.ts';
import { isUserSource } from './types.ts';

/** A forget file at most (64 MiB: a million ids of 60 characters). */
export const FORGET_FILE_MAX_BYTES = 64 * MiB;

export type ForgetRequest =
  /** `--forget FILE` */
  | { kind: 'file'; file: string }
  /** Ids (strings) and row numbers (integers) given directly. */
  | { kind: 'ids'; ids: readonly (string | number)[]; where?: string }
  /** `--forget-class K` */
  | { kind: 'class'; class: string | number; where?: string }
  /** `--forget-where KEY=VALUE` */
  | { kind: 'where'; key: string; value: string; where?: string };

/** What each part of a request selected, for the deletion record. */
export type ForgetRecord =
  | { kind: 'file'; file: string; format: 'json' | 'csv' | 'text'; sha256: string; count: number }
  | { kind: 'ids'; count: number }
  | { kind: 'class'; class: number; className: string; count: number }
  | { kind: 'where'; key: string; value: string; count: number };

export interface ForgetResolution {
  /** Positions in the data set (sorted, unique) to forget. */
  forget: Uint32Array;
  /** Every other position, sorted. */
  retain: Uint32Array;
  /** One per part of the request, in the order given. */
  records: ForgetRecord[];
}

/** `KEY=VALUE` (the first `=` splits; the value may be empty or hold `=`). */
export function parseForgetWhere(
  text: string,
  flag = '--forget-where',
): Extract<ForgetRequest, { kind: 'where' }> {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new UsageError(
      flag,
      `expected KEY=VALUE (a CSV column or image sub-folder key); got "${text}"`,
    );
  return {
    kind: 'where',
    key: text.slice(0, eq).trim(),
    value: text.slice(eq + 1).trim(),
    where: flag,
  };
}

export interface ForgetFile {
  file: string;
  format: 'json' | 'csv' | 'text';
  entries: (string | number)[];
  sha256: string;
  /** A one-column CSV's header when it is not `id` (checked against the data: it might be an id). */
  header?: string;
}

export function readForgetFile(file: string): ForgetFile {
  const bytes = readFileChecked(file, { maxBytes: FORGET_FILE_MAX_BYTES, what: 'a forget file' });
  const hash = sha256(bytes);
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') {
    const v = parseJsonChecked(text, file);
    if (!Array.isArray(v))
      throw new UsageError(
        file,
        'must be a JSON array of ids (strings) or row numbers (integers ≥ 0)',
      );
    v.forEach((e, k) => {
      if (typeof e === 'string' || (typeof e === 'number' && Number.isInteger(e) && e >= 0)) return;
      throw new UsageError(
        file,
        `entry ${k} is ${JSON.stringify(e)}; entries are ids (strings) or row numbers (integers ≥ 0)`,
      );
    });
    return { file, format: 'json', entries: v as (string | number)[], sha256: hash };
  }
  if (ext === '.csv') {
    const recs = parseCsvRecords(text, file);
    if (recs.length === 0)
      throw new UsageError(file, 'empty CSV file (expected a header, then ids)');
    const header = recs[0].fields.map((c) => c.trim());
    let j = header.findIndex((c) => c.toLowerCase() === 'id');
    if (j < 0 && header.length === 1) j = 0;
    if (j < 0)
      throw new UsageError(
        file,
        `has ${header.length} columns and none is named id (columns: ${header.join(', ')})`,
      );
    const entries = recs.slice(1).map((r) => {
      if (r.fields.length !== header.length)
        throw new UsageError(
          `${file}:${r.line}`,
          `ragged row: ${r.fields.length} fields, the header has ${header.length}`,
        );
      const id = r.fields[j].trim();
      if (id === '') throw new UsageError(`${file}:${r.line}`, `empty id in column ${header[j]}`);
      return id;
    });
    return {
      file,
      format: 'csv',
      entries,
      sha256: hash,
      ...(header[j].toLowerCase() !== 'id' && { header: header[j] }),
    };
  }
  const entries = text
    .split(/\r\n|\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return { file, format: 'text', entries, sha256: hash };
}

function quoteList(xs: readonly (string | number)[]): string {
  const shown = xs.slice(0, 5).map((x) => (typeof x === 'string' ? JSON.stringify(x) : String(x)));
  return `${shown.join(', ')}${xs.length > 5 ? ', …' : ''}`;
}

export function resolveForgetRequest(
  ds: Dataset,
  request: ForgetRequest | readonly ForgetRequest[],
): ForgetResolution {
  const parts: readonly ForgetRequest[] = Array.isArray(request)
    ? request
    : [request as ForgetRequest];
  if (parts.length === 0) throw new UsageError('--forget', 'no deletion request given');
  const src = ds.source;
  const user = isUserSource(src) ? src : undefined;
  const n = ds.length;
  const idOf = (i: number) => (user ? user.ids[ds.at(i)] : String(ds.at(i)));
  let positionOfId: Map<string, number> | undefined;
  let positionOfRow: Map<number, number> | undefined;
  const byId = () => {
    if (!positionOfId) {
      positionOfId = new Map();
      for (let i = 0; i < n; i++) positionOfId.set(idOf(i), i);
    }
    return positionOfId;
  };
  const byRow = () => {
    if (!positionOfRow) {
      positionOfRow = new Map();
      for (let i = 0; i < n; i++) positionOfRow.set(ds.at(i), i);
    }
    return positionOfRow;
  };

  const selected = new Uint8Array(n);
  const records: ForgetRecord[] = [];
  const wheres: string[] = [];
  for (const part of parts) {
    const mark: number[] = [];
    let where: string;
    if (part.kind === 'file' || part.kind === 'ids') {
      let entries: readonly (string | number)[];
      if (part.kind === 'file') {
        const f = readForgetFile(part.file);
        where = part.file;
        entries = f.entries;
        if (f.header !== undefined && byId().has(f.header))
          throw new UsageError(
            where,
            `its first line "${f.header}" is read as the column's header but is an id in the data; add a header line "id"`,
          );
        records.push({
          kind: 'file',
          file: part.file,
          format: f.format,
          sha256: f.sha256,
          count: 0,
        });
      } else {
        where = part.where ?? 'ids';
        entries = part.ids;
        records.push({ kind: 'ids', count: 0 });
      }
      const unknown: (string | number)[] = [];
      for (const e of entries) {
        const p = typeof e === 'number' ? byRow().get(e) : byId().get(e);
        if (p === undefined) unknown.push(e);
        else mark.push(p);
      }
      if (unknown.length > 0)
        throw new UsageError(
          where,
          `${unknown.length} of ${entries.length} ${entries.length === 1 ? 'id is' : 'ids are'} not in the data (${ds.name}): ${quoteList(unknown)}`,
        );
    } else if (part.kind === 'class') {
      where = part.where ?? '--forget-class';
      const names = src.classNames ?? [];
      let k = typeof part.class === 'number' ? part.class : names.indexOf(part.class);
      if (k < 0 && typeof part.class === 'string' && /^\d+$/.test(part.class.trim()))
        k = Number(part.class);
      if (!(Number.isInteger(k) && k >= 0 && k < src.numClasses))
        throw new UsageError(
          where,
          `unknown class "${part.class}"; classes: ${
            names.length
              ? names
                  .map((c, i) => `${i}=${c}`)
                  .slice(0, 20)
                  .join(', ')
              : `0-${src.numClasses - 1}`
          }${names.length > 20 ? ', …' : ''}`,
        );
      for (let i = 0; i < n; i++) if (ds.label(i) === k) mark.push(i);
      records.push({ kind: 'class', class: k, className: names[k] ?? String(k), count: 0 });
    } else {
      where = part.where ?? '--forget-where';
      const attrs = user?.attributes ?? {};
      const col = Object.hasOwn(attrs, part.key) ? attrs[part.key] : undefined;
      if (col) {
        const want = part.value === '' ? null : part.value;
        for (let i = 0; i < n; i++) if (col[ds.at(i)] === want) mark.push(i);
      } else if (part.key === 'folder' && user?.folders) {
        const folders = user.folders;
        for (let i = 0; i < n; i++) if (folders[ds.at(i)].includes(part.value)) mark.push(i);
      } else {
        const keys = [...Object.keys(attrs), ...(user?.folders ? ['folder'] : [])];
        throw new UsageError(
          where,
          `no metadata "${part.key}" in ${ds.name}; ${keys.length ? `keys: ${keys.join(', ')}` : 'it has none (CSV columns and image sub-folders are metadata)'}`,
        );
      }
      records.push({ kind: 'where', key: part.key, value: part.value, count: 0 });
    }
    if (mark.length === 0) throw new UsageError(where, `selects no sample of ${ds.name}`);
    const rec = records[records.length - 1];
    for (const p of mark) selected[p] = 1;
    rec.count = new Set(mark).size;
    wheres.push(where);
  }

  let k = 0;
  for (let i = 0; i < n; i++) k += selected[i];
  if (k === n)
    throw new UsageError(
      wheres.join(' + '),
      `selects all ${n} samples of ${ds.name}; nothing would be retained`,
    );
  const forget = new Uint32Array(k);
  const retain = new Uint32Array(n - k);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    if (selected[i]) forget[a++] = i;
    else retain[b++] = i;
  }
  return { forget, retain, records };
}
