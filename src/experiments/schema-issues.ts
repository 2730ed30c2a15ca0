/**
 * Zod issues as one-line usage errors (`scenarios[0].class: must be an integer ≥ 0; got 12`), for
 * the experiment file (schema.ts) and the results file (results-schema.ts).
 */
import type { z } from 'zod';
import { UsageError } from '../core/errors.ts';

/** `value` checked by `schema`; its first issue as a UsageError naming `where`. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: string,
): z.output<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new UsageError(where, describeIssue(issue));
}

/** `scenarios[0].class: must be an integer ≥ 0; got 12` */
export function describeIssue(issue: z.core.$ZodIssue, withField = true): string {
  const field = formatPath(issue.path);
  const at = field && withField ? `${field}: ` : '';
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return `${at}unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}`;
    }
    case 'invalid_type':
      if (input === undefined) return `${at}missing (must be ${article(issue.expected)})`;
      return `${at}must be ${article(issue.expected)}; got ${shortJson(input)}`;
    case 'invalid_value':
      return `${at}must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}; got ${shortJson(input)}`;
    case 'too_small':
    case 'too_big': {
      const op =
        issue.code === 'too_small' ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const what =
        issue.origin === 'array'
          ? 'the number of entries'
          : issue.origin === 'string'
            ? 'the length'
            : '';
      const got = Array.isArray(input) ? `${input.length} entries` : shortJson(input);
      return `${at}${what ? `${what} must be` : 'must be'} ${op} ${String(bound)}; got ${got}`;
    }
    case 'custom': {
      const primitive = input === null || ['string', 'number', 'boolean'].includes(typeof input);
      return `${at}${issue.message}${primitive ? `; got ${shortJson(input)}` : ''}`;
    }
    default: {
      // A discriminated union reports the whole object as input: show the offending field.
      const last = issue.path[issue.path.length - 1];
      const shown =
        input && typeof input === 'object' && !Array.isArray(input) && typeof last === 'string'
          ? (input as Record<string, unknown>)[last]
          : input;
      const got = shown === undefined ? '' : `; got ${shortJson(shown)}`;
      return `${at}${issue.message.replace(/^Invalid input: /, '')}${got}`;
    }
  }
}

function article(t: string): string {
  if (t === 'int') return 'an integer';
  if (t === 'array' || t === 'object') return `an ${t}`;
  return `a ${t}`;
}

function formatPath(p: readonly PropertyKey[]): string {
  let s = '';
  for (const k of p) {
    if (typeof k === 'number') s += `[${k}]`;
    else s += s ? `.${String(k)}` : String(k);
  }
  return s;
}

function shortJson(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
