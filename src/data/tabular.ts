/**
 * Tabular data: CSV and ARFF readers, then one encoder that turns a table into model inputs —
 * categorical columns one-hot, numeric columns standardised with the training split's mean and
 * standard deviation, missing values encoded as 0 (the mean, or no category).
 *
 * Tabular sets have no official split, so the encoder makes one: a seeded permutation of the
 * rows, fixed per data set, so every scenario on it sees the same train/test rows.
 */
import { UsageError } from '../core/errors.ts';
import { rngFor } from '../core/rng.ts';
import type { DataSource } from './dataset.ts';
import type { Split } from './mnist.ts';

export interface RawTable {
  file: string;
  columns: string[];
  /** Cell strings; `null` for a missing value (empty, `NA`, `?`). */
  rows: (string | null)[][];
  /** 1-based line of each row in the file (for error messages). */
  lines: number[];
  /** Declared categories of nominal columns (ARFF); CSV columns have none. */
  nominal: Map<string, string[]>;
  /** Columns whose every present value is a number (or declared numeric). */
  numeric: Set<string>;
}

const MISSING = new Set(['', 'NA', '?']);

function cell(raw: string): string | null {
  const t = raw.trim();
  return MISSING.has(t) ? null : t;
}

function isNumber(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}

/** One CSV line into fields; double quotes may wrap a field and `""` escapes a quote inside one. */
function splitCsvLine(line: string, where: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new UsageError(where, 'unterminated quoted field');
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      while (i < line.length && line[i] !== ',') field += line[i++]; // tolerate `"a" ,`
    } else {
      while (i < line.length && line[i] !== ',') field += line[i++];
    }
    out.push(field);
    if (i >= line.length) return out;
    i++; // the comma
  }
}

export function parseCsv(text: string, file: string): RawTable {
  const all = text.split(/\r?\n/);
  const h = all.findIndex((l) => l.trim() !== '');
  if (h < 0) throw new UsageError(file, 'empty CSV file');
  const columns = splitCsvLine(all[h], `${file}:${h + 1}`).map((c) => c.trim());
  const rows: (string | null)[][] = [];
  const lines: number[] = [];
  for (let ln = h + 1; ln < all.length; ln++) {
    if (all[ln].trim() === '') continue;
    const where = `${file}:${ln + 1}`;
    const fields = splitCsvLine(all[ln], where);
    if (fields.length !== columns.length) {
      throw new UsageError(
        where,
        `ragged row: ${fields.length} fields, the header has ${columns.length}`,
      );
    }
    rows.push(fields.map(cell));
    lines.push(ln + 1);
  }
  if (rows.length === 0) throw new UsageError(file, 'CSV file has a header but no rows');
  const numeric = new Set<string>();
  columns.forEach((c, j) => {
    if (rows.every((r) => r[j] === null || isNumber(r[j]!))) numeric.add(c);
  });
  return { file, columns, rows, lines, nominal: new Map(), numeric };
}

const unquote = (s: string): string => {
  const t = s.trim();
  return t.length >= 2 && (t[0] === "'" || t[0] === '"') && t.at(-1) === t[0] ? t.slice(1, -1) : t;
};

/** Weka ARFF: `@attribute name {a,b,...}` or `numeric|real|integer|string`, then `@data` rows. */
export function parseArff(text: string, file: string): RawTable {
  const all = text.split(/\r?\n/);
  const columns: string[] = [];
  const nominal = new Map<string, string[]>();
  const numeric = new Set<string>();
  const rows: (string | null)[][] = [];
  const lines: number[] = [];
  let inData = false;
  for (let ln = 0; ln < all.length; ln++) {
    const line = all[ln].trim();
    if (line === '' || line.startsWith('%')) continue;
    const where = `${file}:${ln + 1}`;
    if (!inData) {
      if (/^@data\b/i.test(line)) {
        inData = true;
        continue;
      }
      if (/^@relation\b/i.test(line)) continue;
      const m = /^@attribute\s+('[^']*'|"[^"]*"|\S+)\s+(.+)$/i.exec(line);
      if (!m) throw new UsageError(where, `expected @relation, @attribute or @data; got "${line}"`);
      const name = unquote(m[1]);
      const type = m[2].trim();
      if (type.startsWith('{')) {
        if (!type.endsWith('}'))
          throw new UsageError(where, `unterminated nominal list for ${name}`);
        nominal.set(name, (type.slice(1, -1).match(/('[^']*'|[^,]+)/g) ?? []).map(unquote));
      } else if (/^(numeric|real|integer)$/i.test(type)) {
        numeric.add(name);
      } else if (!/^string$/i.test(type)) {
        throw new UsageError(
          where,
          `attribute ${name}: unsupported type "${type}" (allowed: numeric, real, integer, string, {nominal})`,
        );
      }
      columns.push(name);
      continue;
    }
    const fields = (line.match(/('[^']*'|[^,]+)/g) ?? []).map(unquote);
    if (fields.length !== columns.length) {
      throw new UsageError(
        where,
        `ragged row: ${fields.length} fields, ${columns.length} attributes declared`,
      );
    }
    const row = fields.map(cell);
    row.forEach((v, j) => {
      if (v === null) return;
      if (numeric.has(columns[j]) && !isNumber(v)) {
        throw new UsageError(where, `attribute ${columns[j]} is numeric; got "${v}"`);
      }
      const cats = nominal.get(columns[j]);
      if (cats && !cats.includes(v)) {
        throw new UsageError(
          where,
          `unknown value "${v}" for attribute ${columns[j]}; allowed: ${cats.join(', ')}`,
        );
      }
    });
    rows.push(row);
    lines.push(ln + 1);
  }
  if (columns.length === 0) throw new UsageError(file, 'no @attribute lines; not an ARFF file');
  if (rows.length === 0) throw new UsageError(file, 'no data rows after @data');
  return { file, columns, rows, lines, nominal, numeric };
}

/** How a table becomes a classification data set. */
export interface TabularSpec {
  id: string;
  label: {
    column: string;
    /** Class values in class-id order (default: the declared nominal list, else sorted values). */
    classes?: readonly string[];
    /** Binarise a numeric label: class 1 iff value > threshold ('median' of all rows). */
    threshold?: 'median' | number;
    classNames?: readonly string[];
  };
  /** Columns that are not features. */
  drop?: readonly string[];
  /** Named groupings of rows (demographics), each a list of values and a rule from the row. */
  groups?: Record<
    string,
    { values: readonly string[]; of: (get: (column: string) => string | null) => string | null }
  >;
  /** Fraction of rows held out as the test split, drawn with `splitSeed`. */
  testFraction?: number;
  splitSeed?: number;
}

export interface Grouping {
  names: readonly string[];
  ids: Uint8Array;
}

export interface TabularSource extends DataSource {
  readonly featureNames: readonly string[];
  /** Every grouping the spec defines; `meta.group` is unset until a scenario picks one. */
  readonly groupings: Readonly<Record<string, Grouping>>;
}

/** Most categories a nominal column may one-hot encode to (a label allows 255 classes). */
export const MAX_CATEGORIES = 256;

function columnIndex(t: RawTable, c: string): number {
  const j = t.columns.indexOf(c);
  if (j < 0) throw new UsageError(t.file, `no column "${c}"; columns: ${t.columns.join(', ')}`);
  return j;
}

function labelsOf(t: RawTable, spec: TabularSpec): { y: Uint8Array; classNames: string[] } {
  const j = columnIndex(t, spec.label.column);
  const y = new Uint8Array(t.rows.length);
  const missing = t.rows.findIndex((r) => r[j] === null);
  if (missing >= 0) {
    throw new UsageError(
      `${t.file}:${t.lines[missing]}`,
      `missing label in column ${spec.label.column}`,
    );
  }
  if (spec.label.threshold !== undefined) {
    if (!t.numeric.has(spec.label.column)) {
      throw new UsageError(
        t.file,
        `label column ${spec.label.column} must be numeric to be thresholded`,
      );
    }
    const v = t.rows.map((r) => Number(r[j]));
    let thr = spec.label.threshold;
    if (thr === 'median') {
      const s = [...v].sort((a, b) => a - b);
      const m = s.length >> 1;
      thr = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
    }
    for (let i = 0; i < v.length; i++) y[i] = v[i] > thr ? 1 : 0;
    return { y, classNames: [...(spec.label.classNames ?? ['low', 'high'])] };
  }
  const classes = [
    ...(spec.label.classes ??
      t.nominal.get(spec.label.column) ??
      [...new Set(t.rows.map((r) => r[j]!))].sort()),
  ];
  if (classes.length > 255)
    throw new UsageError(t.file, `label column has ${classes.length} classes (max 255)`);
  const id = new Map(classes.map((c, i) => [c, i]));
  for (let i = 0; i < t.rows.length; i++) {
    const k = id.get(t.rows[i][j]!);
    if (k === undefined) {
      throw new UsageError(
        `${t.file}:${t.lines[i]}`,
        `unknown class "${t.rows[i][j]}" in column ${spec.label.column}; allowed: ${classes.join(', ')}`,
      );
    }
    y[i] = k;
  }
  return { y, classNames: spec.label.classNames ? [...spec.label.classNames] : classes };
}

/** Encode a table into train and test sources (see the file comment). */
export function encodeTable(t: RawTable, spec: TabularSpec): Record<Split, TabularSource> {
  const { y, classNames } = labelsOf(t, spec);
  const n = t.rows.length;
  const get = (i: number) => (c: string) => t.rows[i][columnIndex(t, c)];

  const groupings: Record<string, Uint8Array> = {};
  for (const [g, def] of Object.entries(spec.groups ?? {})) {
    const ids = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = def.of(get(i));
      const k = v === null ? -1 : def.values.indexOf(v);
      if (k < 0) {
        throw new UsageError(
          `${t.file}:${t.lines[i]}`,
          `group ${g}: value "${v}" is not one of ${def.values.join(', ')}`,
        );
      }
      ids[i] = k;
    }
    groupings[g] = ids;
  }

  // The fixed split: a seeded permutation, test rows first.
  const nTest = Math.round(n * (spec.testFraction ?? 0.2));
  const perm = rngFor(spec.splitSeed ?? 0, spec.id, 'train-test-split').permutation(n);
  const rowsOf: Record<Split, number[]> = {
    test: Array.from(perm.subarray(0, nTest)).sort((a, b) => a - b),
    train: Array.from(perm.subarray(nTest)).sort((a, b) => a - b),
  };

  // Column encoders, fitted on the training rows.
  const skip = new Set([spec.label.column, ...(spec.drop ?? [])]);
  for (const c of skip) columnIndex(t, c);
  const featureNames: string[] = [];
  const encoders: ((row: (string | null)[], out: Float32Array, off: number) => void)[] = [];
  let width = 0;
  t.columns.forEach((c, j) => {
    if (skip.has(c)) return;
    const off0 = width;
    const declared = t.nominal.get(c);
    if (!declared && t.numeric.has(c)) {
      const v = rowsOf.train
        .map((i) => t.rows[i][j])
        .filter((s) => s !== null)
        .map(Number);
      const mean = v.reduce((a, b) => a + b, 0) / Math.max(v.length, 1);
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(v.length, 1));
      const s = sd > 0 ? sd : 1;
      featureNames.push(c);
      width += 1;
      encoders.push((row, out, off) => {
        const val = row[j];
        out[off + off0] = val === null ? 0 : (Number(val) - mean) / s;
      });
      return;
    }
    const cats = declared ?? [...new Set(t.rows.map((r) => r[j]).filter((s) => s !== null))].sort();
    // One-hot width multiplies the table's size: an ID-like column would ask for rows² floats.
    if (cats.length > MAX_CATEGORIES) {
      throw new UsageError(
        t.file,
        `column ${c} has ${cats.length} distinct values; one-hot encoding allows at most ${MAX_CATEGORIES} (is it an ID column?)`,
      );
    }
    const at = new Map(cats.map((v, k) => [v as string, k]));
    for (const v of cats) featureNames.push(`${c}=${v}`);
    width += cats.length;
    encoders.push((row, out, off) => {
      const val = row[j];
      if (val === null) return;
      const k = at.get(val);
      if (k === undefined) {
        throw new UsageError(
          t.file,
          `unknown value "${val}" for nominal attribute ${c}; allowed: ${cats.join(', ')}`,
        );
      }
      out[off + off0 + k] = 1;
    });
  });

  const build = (split: Split): TabularSource => {
    const rows = rowsOf[split];
    const x = new Float32Array(rows.length * width);
    const ys = new Uint8Array(rows.length);
    const sourceIndex = Uint32Array.from(rows);
    rows.forEach((r, i) => {
      for (const enc of encoders) enc(t.rows[r], x, i * width);
      ys[i] = y[r];
    });
    const gs: Record<string, Grouping> = {};
    for (const [g, ids] of Object.entries(groupings)) {
      gs[g] = { names: spec.groups![g].values, ids: Uint8Array.from(rows, (r) => ids[r]) };
    }
    return {
      name: `${spec.id}/${split}`,
      sampleShape: [width],
      x,
      scale: 1,
      y: ys,
      numClasses: classNames.length,
      classNames,
      meta: { sourceIndex },
      featureNames,
      groupings: gs,
    };
  };
  return { train: build('train'), test: build('test') };
}
