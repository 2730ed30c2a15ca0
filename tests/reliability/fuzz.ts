/**
 * Fuzz harness for the file readers. A reader given hostile bytes may accept them (they happened
 * to be valid) or refuse them with a one-line `UsageError` naming the file; anything else fails:
 * another exception (a crash), a case slower than its time budget (a hang), or an allocation
 * larger than the input justifies (a huge declared size trusted before it was checked).
 *
 * Allocations are watched by swapping the global typed-array, ArrayBuffer, Array and Buffer
 * allocators for counting wrappers while the reader runs (synchronously), so a reader that
 * would ask for 2^32 elements is caught at the request, before the engine fails or the machine
 * swaps. Counts and seed come from UIB_FUZZ_RUNS / UIB_FUZZ_SEED so a longer hunt is one env var.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { UsageError } from '../../src/core/errors.ts';

/** Cases per property: small by default (CI on 2 cores), raised with UIB_FUZZ_RUNS. */
export function fuzzRuns(base: number): number {
  const env = Number(process.env.UIB_FUZZ_RUNS);
  return Number.isInteger(env) && env > 0 ? env : base;
}

export const FUZZ_SEED = Number.isInteger(Number(process.env.UIB_FUZZ_SEED))
  ? Number(process.env.UIB_FUZZ_SEED ?? 20240607)
  : 20240607;

// ─── allocation spy ────────────────────────────────────────────────────────────────────────────

const TYPED = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;

/** Bytes a constructor call would allocate (0 for views over an existing buffer). */
function requestedBytes(name: string, args: unknown[]): number {
  const a0 = args[0];
  if (name === 'ArrayBuffer') return typeof a0 === 'number' ? a0 : 0;
  const per =
    name === 'Array'
      ? 8
      : (globalThis as never as Record<string, { BYTES_PER_ELEMENT: number }>)[name]
          .BYTES_PER_ELEMENT;
  if (typeof a0 === 'number') return name === 'Array' && args.length !== 1 ? 0 : a0 * per;
  if (a0 && typeof a0 === 'object' && 'length' in a0 && !(a0 instanceof ArrayBuffer))
    return Number((a0 as { length: number }).length) * per;
  return 0;
}

/** Swap every allocator for a counting one; `restore` puts the real ones back. */
function patchAllocators(refuseAbove: number): {
  stats: { maxRequest: number };
  restore: () => void;
} {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = new Map<string, unknown>();
  const stats = { maxRequest: 0 };
  const note = (what: string, bytes: number) => {
    if (bytes > stats.maxRequest) stats.maxRequest = bytes;
    if (bytes > refuseAbove)
      throw new AllocationTooLarge(`${what} asked for ${bytes} bytes (limit ${refuseAbove})`);
  };
  for (const name of [...TYPED, 'ArrayBuffer', 'Array']) {
    const real = g[name] as new (...args: unknown[]) => unknown;
    saved.set(name, real);
    g[name] = new Proxy(real, {
      construct(target, args, newTarget) {
        note(name, requestedBytes(name, args));
        return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget);
      },
      apply(target, self, args) {
        if (name === 'Array') note(name, requestedBytes(name, args));
        return Reflect.apply(target, self, args);
      },
    });
  }
  const bufferFns = ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const;
  const savedBuf = bufferFns.map((k) => Buffer[k]);
  for (const k of bufferFns) {
    const real = Buffer[k] as (n: number, ...rest: unknown[]) => Buffer;
    (Buffer as unknown as Record<string, unknown>)[k] = (n: number, ...rest: unknown[]) => {
      note(`Buffer.${k}`, n);
      return real.call(Buffer, n, ...rest);
    };
  }
  const restore = () => {
    for (const [name, real] of saved) g[name] = real;
    bufferFns.forEach((k, i) => {
      (Buffer as unknown as Record<string, unknown>)[k] = savedBuf[i];
    });
  };
  return { stats, restore };
}

export interface Watched<T> {
  value?: T;
  error?: unknown;
  /** Largest single allocation requested, in bytes (also when the reader swallowed the refusal). */
  maxRequest: number;
}

/**
 * Run `fn` with every allocator counted; returns what it returned or threw, and the largest
 * single request in bytes. A request above `refuseAbove` throws at once (the engine never sees it).
 */
export function watchAllocations<T>(fn: () => T, refuseAbove: number): Watched<T> {
  const { stats, restore } = patchAllocators(refuseAbove);
  try {
    const value = fn();
    return { value, maxRequest: stats.maxRequest };
  } catch (error) {
    return { error, maxRequest: stats.maxRequest };
  } finally {
    restore();
  }
}

/** The same for an async reader (nothing else may run in the process meanwhile). */
export async function watchAllocationsAsync<T>(
  fn: () => Promise<T>,
  refuseAbove: number,
): Promise<Watched<T>> {
  const { stats, restore } = patchAllocators(refuseAbove);
  try {
    const value = await fn();
    return { value, maxRequest: stats.maxRequest };
  } catch (error) {
    return { error, maxRequest: stats.maxRequest };
  } finally {
    restore();
  }
}

export class AllocationTooLarge extends Error {
  override readonly name = 'AllocationTooLarge';
}

// ─── the contract every reader must keep ───────────────────────────────────────────────────────

export interface Tally {
  cases: number;
  accepted: number;
  refused: number;
  /** Largest single allocation seen, and the input size of that case. */
  maxAlloc: number;
  maxAllocInput: number;
}

export const newTally = (): Tally => ({
  cases: 0,
  accepted: 0,
  refused: 0,
  maxAlloc: 0,
  maxAllocInput: 0,
});

export function describeTally(name: string, t: Tally): string {
  return `${name}: ${t.cases} cases, ${t.accepted} accepted, ${t.refused} refused with a UsageError; largest allocation ${t.maxAlloc} B (input ${t.maxAllocInput} B)`;
}

export interface ReaderCase {
  /** Runs the reader; may return (accepted) or throw (should be a UsageError). */
  read: () => unknown;
  /** A string every refusal must mention (the file's name). */
  names: string;
  /** Bytes of input the reader was given (what justifies its allocations). */
  inputBytes: number;
  /** Allocation allowed per input byte, plus `slackBytes` (fixed per-reader overhead). */
  allocPerByte: number;
  slackBytes?: number;
  /** Wall-clock budget for one case (a larger time is a hang). */
  budgetMs?: number;
}

/** Run one case and assert the contract; updates the tally. */
export function checkReader(c: ReaderCase, tally: Tally): void {
  const t0 = performance.now();
  const r = watchAllocations(c.read, allocLimit(c));
  judge(c, r, performance.now() - t0, tally);
}

/** The same for an async reader. */
export async function checkReaderAsync(
  c: Omit<ReaderCase, 'read'> & { read: () => Promise<unknown> },
  tally: Tally,
): Promise<void> {
  const t0 = performance.now();
  const r = await watchAllocationsAsync(c.read, allocLimit(c));
  judge(c, r, performance.now() - t0, tally);
}

const allocLimit = (c: Pick<ReaderCase, 'allocPerByte' | 'inputBytes' | 'slackBytes'>) =>
  c.allocPerByte * c.inputBytes + (c.slackBytes ?? 1 << 20);

function judge(
  c: Pick<ReaderCase, 'names' | 'inputBytes' | 'budgetMs' | 'allocPerByte' | 'slackBytes'>,
  r: Watched<unknown>,
  ms: number,
  tally: Tally,
): void {
  tally.cases++;
  if (r.maxRequest > tally.maxAlloc) {
    tally.maxAlloc = r.maxRequest;
    tally.maxAllocInput = c.inputBytes;
  }
  assert.ok(
    ms <= (c.budgetMs ?? 2000),
    `took ${ms.toFixed(0)} ms on ${c.inputBytes} bytes (budget ${c.budgetMs ?? 2000} ms)`,
  );
  // Checked apart from the error: a reader may wrap the refused allocation in its own UsageError.
  assert.ok(
    r.maxRequest <= allocLimit(c),
    `asked for ${r.maxRequest} bytes on a ${c.inputBytes}-byte input (limit ${allocLimit(c)})`,
  );
  if (!('error' in r)) {
    tally.accepted++;
    return;
  }
  const e = r.error;
  if (!(e instanceof UsageError)) {
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    assert.fail(`not a UsageError: ${what.slice(0, 300)}`);
  }
  assert.ok(!/[\r\n]/.test(e.message), `message is not one line: ${JSON.stringify(e.message)}`);
  assert.ok(e.message.includes(c.names), `message does not name ${c.names}: ${e.message}`);
  tally.refused++;
}

// ─── mutations ─────────────────────────────────────────────────────────────────────────────────

export type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set32'; at: number; value: number; le: boolean; offset?: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; len: number };

/** Interesting 32-bit values: zero, one, sign bits, all ones, near the usual limits. */
const EDGE32 = [
  0, 1, 2, 255, 256, 4096, 4097, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000, 60000,
];

/** Positions are fractions of the current length, uniform (no bias toward the first bytes). */
const pos = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((i) => i / 1_000_000);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: pos }),
  fc.record({ kind: fc.constant('flip' as const), at: pos, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('set32' as const),
    at: pos,
    value: fc.oneof(fc.constantFrom(...EDGE32), fc.nat({ max: 0xffffffff })),
    le: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: pos,
    bytes: fc.uint8Array({ maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: pos,
    len: fc.integer({ min: 1, max: 64 }),
  }),
);

/** Header-focused mutations: a 32-bit field at an aligned byte offset in the first `headerBytes`. */
export function headerMutationArb(headerBytes: number): fc.Arbitrary<Mutation> {
  return fc.record({
    kind: fc.constant('set32' as const),
    at: fc.constant(0),
    offset: fc.integer({ min: 0, max: headerBytes / 4 - 1 }).map((i) => i * 4),
    value: fc.oneof(fc.constantFrom(...EDGE32), fc.nat({ max: 0xffffffff })),
    le: fc.constant(false),
  }) as fc.Arbitrary<Mutation>;
}

export function applyMutations(input: Uint8Array, muts: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of muts) {
    const at =
      m.kind === 'set32' && m.offset !== undefined ? m.offset : Math.floor(m.at * b.length);
    switch (m.kind) {
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'flip':
        if (at < b.length) b[at] ^= 1 << m.bit;
        break;
      case 'set32':
        if (at + 4 <= b.length) {
          if (m.le) b.writeUInt32LE(m.value, at);
          else b.writeUInt32BE(m.value, at);
        }
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
    }
  }
  return b;
}

// ─── JSON mutations ────────────────────────────────────────────────────────────────────────────

export type JsonMutation =
  | { kind: 'replace'; path: number; value: unknown }
  | { kind: 'delete'; path: number }
  | { kind: 'add'; path: number; key: string; value: unknown };

/** Values a hostile JSON file may hold: extremes, wrong types, deep nesting, long arrays. */
export const hostileJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    -1,
    -0,
    0.5,
    1e308,
    -1e308,
    2 ** 53 + 2,
    2 ** 32,
    4294967295,
    '',
    'NaN',
    'Infinity',
    '../../../etc/passwd',
    'line\nbreak',
    '__proto__',
    null,
    true,
    [],
    {},
  ),
  fc.integer({ min: 1, max: 200 }).map((d) => {
    let v: unknown = 0;
    for (let i = 0; i < d; i++) v = [v];
    return v;
  }),
);

/** Every path (as key lists) to a value inside `v`, the root first. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(at);
  if (Array.isArray(v)) {
    // Long index lists: visit a few entries, not all 60k.
    const n = v.length;
    const pick = n <= 4 ? [...Array(n).keys()] : [0, 1, n >> 1, n - 1];
    for (const i of pick) paths(v[i], [...at, i], out);
  } else if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) paths((v as Record<string, unknown>)[k], [...at, k], out);
  }
  return out;
}

export const jsonMutationArb: fc.Arbitrary<JsonMutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), path: fc.nat(), value: hostileJsonValue }),
  fc.record({ kind: fc.constant('delete' as const), path: fc.nat() }),
  fc.record({
    kind: fc.constant('add' as const),
    path: fc.nat(),
    key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor')),
    value: hostileJsonValue,
  }),
);

/** Apply JSON mutations to a deep copy of `base` (each picks a path by index modulo the count). */
export function mutateJson(base: unknown, muts: readonly JsonMutation[]): unknown {
  let root: unknown = structuredClone(base);
  for (const m0 of muts) {
    // A fresh copy of the inserted value: fast-check may hand the same object to two mutations,
    // and adding into one would then make the tree circular.
    const m = 'value' in m0 ? { ...m0, value: structuredClone(m0.value) } : m0;
    const all = paths(root);
    const p = all[m.path % all.length];
    if (p.length === 0) {
      if (m.kind === 'replace') root = m.value;
      continue;
    }
    let parent = root as Record<string | number, unknown>;
    for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = p[p.length - 1];
    if (m.kind === 'replace') parent[last] = m.value;
    else if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else {
      const target = parent[last];
      if (target && typeof target === 'object' && !Array.isArray(target))
        Object.defineProperty(target, m.key, {
          value: m.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
  }
  return root;
}

/** Text-level damage for JSON/YAML files: bytes mutations, then decoded back to a string. */
export function mutateText(text: string, muts: readonly Mutation[]): string {
  return applyMutations(Buffer.from(text, 'utf8'), muts).toString('utf8');
}
