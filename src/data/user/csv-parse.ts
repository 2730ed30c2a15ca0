/**
 * RFC 4180 CSV records: fields separated by commas, records by CRLF, LF or CR; a field in double
 * quotes may hold commas, line breaks and `""` (one quote). Each record keeps the 1-based line it
 * starts on, for error messages. A UTF-8 byte-order mark is dropped; blank lines are skipped.
 */
import { UsageError } from '../../core/errors.ts';

export interface CsvRecord {
  fields: string[];
  /** 1-based line the record starts on. */
  line: number;
  /** Which fields were quoted (a quoted empty field is an empty string, not a missing value). */
  quoted: boolean[];
}

export function parseCsvRecords(text: string, file: string): CsvRecord[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    const quoted: boolean[] = [];
    for (;;) {
      let field = '';
      let q = false;
      if (text[i] === '"') {
        q = true;
        const open = line;
        i++;
        for (;;) {
          if (i >= n)
            throw new UsageError(`${file}:${open}`, 'unterminated quoted field (no closing ")');
          const ch = text[i];
          if (ch === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
          field += ch;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r')
          throw new UsageError(
            `${file}:${line}`,
            `unexpected text after a closing quote in field ${fields.length + 1} (a quote inside a quoted field is written "")`,
          );
      } else {
        const s = i;
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') i++;
        field = text.slice(s, i);
        if (field.includes('"'))
          throw new UsageError(
            `${file}:${line}`,
            `stray quote in unquoted field ${fields.length + 1} (quote the whole field and write "" for a quote)`,
          );
      }
      fields.push(field);
      quoted.push(q);
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      // End of record: a line break or the end of the text.
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
      line++;
      break;
    }
    const blank = fields.length === 1 && fields[0].trim() === '' && !quoted[0];
    if (!blank) out.push({ fields, line: start, quoted });
  }
  return out;
}
