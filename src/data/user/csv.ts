/**
 * A CSV file of the user's: a header row, a label column, optionally an id column; every other
 * column is a feature unless dropped. Encoded as `tabular.ts` encodes the bundled tables:
 *
 * - a column whose every present value is a number (or that `numeric` names) is numeric,
 *   standardised with this file's mean and (population) standard deviation (sd 0 → 1);
 * - any other column is categorical, one-hot over its values in code-unit order;
 * - a missing value (empty, or unquoted `NA` / `?`) encodes as 0: the mean, or no category.
 *
 * The encoding (classes, column kinds, means, sds, vocabularies) is returned as `CsvEncoding`, plain
 * JSON: pass it back as `encoding` to encode a held-out CSV exactly as the training one (an unseen
 * category or class there is an error). Classes: the `classes` given, else the label's distinct
 * values, in numeric order when all are integers, else code-unit order. Ids: the id column (unique,
 * present), else the 0-based data-row number (`0` is the row after the header). Every column's raw
 * values (before encoding, trimmed) are kept as `attributes` for `--forget-where COLUMN=VALUE`.
 */

import * as path from 'node:path';
import { UsageError } from '../../core/errors.ts';
import { MiB, readFileChecked } from '../../core/read.ts';
import { MAX_CATEGORIES } from '../tabular.ts';
import { type CsvRecord, parseCsvRecords } from './csv-parse.ts';
import {
  fileDigest,
  labelArray,
  rowIds,
  type UserDataset,
  type UserSource,
  userDataset,
} from './types.ts';

/** A user's CSV at most: 64 MiB of text (the parser holds each cell as a string). */
export const CSV_MAX_BYTES = 64 * MiB;
/** Most classes a label column may have (more is likely a regression target). */
export const CSV_MAX_CLASSES = 1000;
export const CSV_ENCODING_FORMAT = 'uib-csv-encoding/1';

export type CsvColumnEncoding =
  | { name: string; kind: 'numeric'; mean: number; sd: number }
  | { name: string; kind: 'categorical'; values: string[] };

export interface CsvEncoding {
  format: typeof CSV_ENCODING_FORMAT;
  label: string;
  id: string | null;
  /** Columns that were not features (ignored if a held-out file lacks them). */
  drop: string[];
  classes: string[];
  /** Feature columns in feature order; each numeric column is one feature, each categorical one per value. */
  columns: CsvColumnEncoding[];
  /** `age`, `colour=red`, ... one per feature. */
  featureNames: string[];
}

export interface CsvOptions {
  /** The label column (required unless `encoding` gives it). */
  label?: string;
  /** A column of unique sample ids. */
  id?: string;
  /** Columns that are not features (metadata such as a source column). */
  drop?: readonly string[];
  /** Columns that must be numeric: a non-number there is an error naming its line. */
  numeric?: readonly string[];
  /** Class values in class-id order. */
  classes?: readonly string[];
  /** Standardise numeric columns (default true, as the bundled tables). */
  standardize?: boolean;
  /** A training CSV's encoding, to encode this (held-out) file the same way. */
  encoding?: CsvEncoding;
  name?: string;
}

export interface CsvSource extends UserSource {
  readonly featureNames: readonly string[];
  readonly encoding: CsvEncoding;
}

export type CsvDataset = UserDataset & { readonly source: CsvSource };

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const isNumber = (s: string) => NUMBER.test(s);
const INTEGER = /^[+-]?\d+$/;

function cellValue(field: string, quoted: boolean): string | null {
  const t = field.trim();
  if (t === '') return null;
  if (!quoted && (t === 'NA' || t === '?')) return null;
  return t;
}

function sortClasses(values: string[]): string[] {
  if (values.every((v) => INTEGER.test(v))) return values.sort((a, b) => Number(a) - Number(b));
  return values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function loadCsv(file: string, opts: CsvOptions = {}): CsvDataset {
  const enc = opts.encoding;
  const label = opts.label ?? enc?.label;
  if (label === undefined)
    throw new UsageError('--label', 'a CSV needs the name of its label column');
  if (enc && label !== enc.label)
    throw new UsageError(
      '--label',
      `is "${label}" but the encoding's label column is "${enc.label}"`,
    );

  const bytes = readFileChecked(file, { maxBytes: CSV_MAX_BYTES, what: 'a CSV file' });
  const records = parseCsvRecords(bytes.toString('utf8'), file);
  if (records.length === 0) throw new UsageError(file, 'empty CSV file');
  const header = records[0].fields.map((c) => c.trim());
  const rows: CsvRecord[] = records.slice(1);
  if (rows.length === 0) throw new UsageError(file, 'CSV file has a header but no rows');
  header.forEach((c, j) => {
    if (c === '') throw new UsageError(`${file}:${records[0].line}`, `column ${j + 1} has no name`);
    if (header.indexOf(c) !== j)
      throw new UsageError(
        `${file}:${records[0].line}`,
        `column "${c}" appears twice in the header`,
      );
  });
  // A held-out file may lack the training file's id column: its ids are then row numbers.
  const idCol = opts.id ?? (enc?.id != null && header.includes(enc.id) ? enc.id : undefined);
  const col = (c: string, flag: string) => {
    const j = header.indexOf(c);
    if (j < 0)
      throw new UsageError(file, `no column "${c}" (${flag}); columns: ${header.join(', ')}`);
    return j;
  };
  for (const r of rows)
    if (r.fields.length !== header.length)
      throw new UsageError(
        `${file}:${r.line}`,
        `ragged row: ${r.fields.length} fields, the header has ${header.length}`,
      );

  // Raw values, column-major.
  const raw: (string | null)[][] = header.map((_, j) =>
    rows.map((r) => cellValue(r.fields[j], r.quoted[j])),
  );
  const lineOf = (i: number) => `${file}:${rows[i].line}`;

  // Labels.
  const lj = col(label, '--label');
  const missing = raw[lj].indexOf(null);
  if (missing >= 0) throw new UsageError(lineOf(missing), `missing label in column ${label}`);
  const classes = opts.classes
    ? [...opts.classes]
    : enc
      ? [...enc.classes]
      : sortClasses([...new Set(raw[lj] as string[])]);
  if (classes.length > CSV_MAX_CLASSES)
    throw new UsageError(
      file,
      `label column ${label} has ${classes.length} distinct values (max ${CSV_MAX_CLASSES} classes; is it a regression target?)`,
    );
  if (classes.length < 2)
    throw new UsageError(
      file,
      `label column ${label} has ${classes.length} class; at least 2 are needed`,
    );
  const classId = new Map(classes.map((c, k) => [c, k]));
  const y = labelArray(rows.length, classes.length);
  raw[lj].forEach((v, i) => {
    const k = classId.get(v!);
    if (k === undefined)
      throw new UsageError(
        lineOf(i),
        `unknown class "${v}" in column ${label}; classes: ${classes.slice(0, 10).join(', ')}${classes.length > 10 ? ', …' : ''}`,
      );
    y[i] = k;
  });

  // Ids.
  let ids: string[];
  if (idCol !== undefined) {
    const ij = col(idCol, '--id');
    const seen = new Map<string, number>();
    ids = raw[ij].map((v, i) => {
      if (v === null) throw new UsageError(lineOf(i), `missing id in column ${idCol}`);
      const prev = seen.get(v);
      if (prev !== undefined)
        throw new UsageError(
          lineOf(i),
          `id "${v}" in column ${idCol} repeats line ${rows[prev].line}`,
        );
      seen.set(v, i);
      return v;
    });
  } else ids = rowIds(rows.length);

  // Feature columns and their encoders.
  const drop = [...new Set([...(enc?.drop ?? []), ...(opts.drop ?? [])])];
  const skip = new Set([label, ...(idCol !== undefined ? [idCol] : []), ...drop]);
  for (const c of opts.drop ?? []) col(c, 'drop');
  const declaredNumeric = new Set(opts.numeric ?? []);
  for (const c of declaredNumeric) {
    col(c, 'numeric');
    if (skip.has(c))
      throw new UsageError(file, `column "${c}" is declared numeric but is not a feature`);
  }
  const firstNonNumber = (j: number) => raw[j].findIndex((v) => v !== null && !isNumber(v));
  const notANumber = (j: number, i: number) =>
    new UsageError(lineOf(i), `column ${header[j]}: "${raw[j][i]}" is not a number`);

  let columns: CsvColumnEncoding[];
  if (enc) {
    const known = new Set(enc.columns.map((c) => c.name));
    for (const c of header)
      if (!skip.has(c) && !known.has(c))
        throw new UsageError(
          file,
          `column "${c}" is not in the encoding (not a feature of the training CSV); drop it`,
        );
    columns = enc.columns;
    for (const c of columns) col(c.name, 'encoding');
  } else {
    const standardize = opts.standardize ?? true;
    columns = [];
    header.forEach((c, j) => {
      if (skip.has(c)) return;
      const bad = firstNonNumber(j);
      if (bad < 0 || declaredNumeric.has(c)) {
        if (bad >= 0) throw notANumber(j, bad);
        const v = raw[j].filter((s) => s !== null).map(Number);
        const mean = standardize && v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0;
        const sd =
          standardize && v.length
            ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length)
            : 1;
        columns.push({ name: c, kind: 'numeric', mean, sd: sd > 0 ? sd : 1 });
        return;
      }
      const values = [...new Set(raw[j].filter((s) => s !== null))].sort((a, b) =>
        a < b ? -1 : a > b ? 1 : 0,
      );
      if (values.length > MAX_CATEGORIES) {
        // A numeric column with a stray word reads as categorical: point at the word.
        const numbers = raw[j].filter((s) => s !== null && isNumber(s)).length;
        if (numbers * 2 > raw[j].length) throw notANumber(j, bad);
        throw new UsageError(
          file,
          `column ${c} has ${values.length} distinct values; one-hot encoding allows at most ${MAX_CATEGORIES} (is it an ID column? give it as the id or drop it)`,
        );
      }
      columns.push({ name: c, kind: 'categorical', values });
    });
  }
  const featureNames = columns.flatMap((c) =>
    c.kind === 'numeric' ? [c.name] : c.values.map((v) => `${c.name}=${v}`),
  );
  if (featureNames.length === 0)
    throw new UsageError(file, 'has no feature columns (only the label, id and dropped ones)');

  const width = featureNames.length;
  const x = new Float32Array(rows.length * width);
  let off = 0;
  for (const c of columns) {
    const j = col(c.name, 'encoding');
    const vals = raw[j];
    if (c.kind === 'numeric') {
      for (let i = 0; i < rows.length; i++) {
        const v = vals[i];
        if (v === null) continue;
        if (!isNumber(v)) throw notANumber(j, i);
        x[i * width + off] = (Number(v) - c.mean) / c.sd;
      }
      off += 1;
    } else {
      const at = new Map(c.values.map((v, k) => [v, k]));
      for (let i = 0; i < rows.length; i++) {
        const v = vals[i];
        if (v === null) continue;
        const k = at.get(v);
        if (k === undefined)
          throw new UsageError(
            lineOf(i),
            `column ${c.name}: unknown value "${v}" (the encoding has ${c.values.slice(0, 10).join(', ')}${c.values.length > 10 ? ', …' : ''})`,
          );
        x[i * width + off + k] = 1;
      }
      off += c.values.length;
    }
  }

  const encoding: CsvEncoding = {
    format: CSV_ENCODING_FORMAT,
    label,
    id: idCol ?? null,
    drop,
    classes,
    columns,
    featureNames,
  };
  return userDataset<CsvSource>({
    name: opts.name ?? file,
    format: 'csv',
    sampleShape: [width],
    x,
    scale: 1,
    y,
    numClasses: classes.length,
    classNames: classes,
    ids,
    files: [fileDigest(file, path.basename(file), bytes)],
    attributes: Object.fromEntries(header.map((c, j) => [c, raw[j]])),
    featureNames,
    encoding,
  });
}

/** Check a `CsvEncoding` read back from JSON (a file the user gives). */
export function parseCsvEncoding(value: unknown, where: string): CsvEncoding {
  const fail = (problem: string): never => {
    throw new UsageError(where, problem);
  };
  const isStrings = (a: unknown): a is string[] =>
    Array.isArray(a) && a.every((s) => typeof s === 'string');
  const v = value as Partial<CsvEncoding> | null;
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    return fail('a CSV encoding must be an object');
  if (v.format !== CSV_ENCODING_FORMAT)
    fail(`format must be "${CSV_ENCODING_FORMAT}"; got ${JSON.stringify(v.format)}`);
  if (typeof v.label !== 'string') fail('label must be a column name');
  if (v.id !== null && typeof v.id !== 'string') fail('id must be a column name or null');
  if (!isStrings(v.drop)) fail('drop must be a list of column names');
  if (!isStrings(v.classes) || v.classes.length < 2) fail('classes must be at least 2 strings');
  if (!Array.isArray(v.columns) || v.columns.length === 0)
    fail('columns must be a non-empty array');
  const names: string[] = [];
  v.columns!.forEach((c, k) => {
    const at = `columns[${k}]`;
    if (c === null || typeof c !== 'object' || typeof c.name !== 'string')
      fail(`${at}.name must be a string`);
    if (c.kind === 'numeric') {
      if (!Number.isFinite(c.mean) || !(Number.isFinite(c.sd) && c.sd > 0))
        fail(`${at}: mean must be finite and sd positive`);
      names.push(c.name);
    } else if (c.kind === 'categorical') {
      if (!isStrings(c.values) || c.values.length === 0)
        fail(`${at}.values must be a non-empty list of strings`);
      names.push(...c.values.map((s) => `${c.name}=${s}`));
    } else fail(`${at}.kind must be "numeric" or "categorical"`);
  });
  if (!isStrings(v.featureNames) || v.featureNames.join('\n') !== names.join('\n'))
    fail('featureNames do not match the columns');
  return v as CsvEncoding;
}
