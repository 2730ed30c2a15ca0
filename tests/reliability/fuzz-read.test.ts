/**
 * Fuzzed JSON and YAML checks of core/read.ts (`parseJsonChecked`, `parseYamlChecked`), which
 * every JSON/YAML reader of uib goes through. Values are random deep and wide trees (nesting up
 * to 300 levels, arrays up to 100 wide, `__proto__` keys now and then), written as JSON, as flow
 * YAML and as block YAML; text is also damaged. Each case gives a value or a one-line
 * UsageError naming the file, within its time budget. For generated trees the outcome is known:
 * refused exactly when nesting passes 64 levels or a `__proto__` key is present (JSON, flow
 * YAML), and accepted, equal to the tree, when block YAML nests ≤ 20 levels.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import YAML from 'yaml';
import { UsageError } from '../../src/core/errors.ts';
import { MAX_JSON_DEPTH, parseJsonChecked, parseYamlChecked } from '../../src/core/read.ts';
import {
  checkReader,
  describeTally,
  FUZZ_SEED,
  fuzzRuns,
  mutateText,
  mutationArb,
  newTally,
} from './fuzz.ts';

/** A tree: a chain of containers `depth` deep, each with a few leaf siblings. */
interface Tree {
  levels: { array: boolean; key: string; siblings: unknown[] }[];
  leaf: unknown;
}

const leafArb = fc.oneof(
  fc.constantFrom(0, -0, 1e308, 2 ** 53 + 2, '', 'x', 'a: b', '[', '{', true, false, null),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 8 }),
);
const levelArb = fc.record({
  array: fc.boolean(),
  key: fc.oneof(
    { weight: 20, arbitrary: fc.string({ minLength: 1, maxLength: 6 }) },
    { weight: 1, arbitrary: fc.constant('__proto__') },
  ),
  siblings: fc.oneof(
    { weight: 6, arbitrary: fc.array(leafArb, { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.array(fc.integer(), { minLength: 50, maxLength: 100 }) },
  ),
});
/** Shallow trees, and (when `maxDepth` allows) trees around the 64-level limit and past it. */
const treeArb = (maxDepth: number): fc.Arbitrary<Tree> =>
  fc.record({
    levels:
      maxDepth <= 55
        ? fc.array(levelArb, { maxLength: maxDepth })
        : fc.oneof(
            fc.array(levelArb, { maxLength: 12 }),
            fc.array(levelArb, { minLength: 55, maxLength: maxDepth }),
          ),
    leaf: leafArb,
  });

/** Sibling keys: the level's key plus a suffix, so never equal to it (YAML refuses duplicates). */
const siblingKey = (key: string, j: number) => `${key}~${j}`;

const hasProto = (t: Tree) => t.levels.some((l) => !l.array && l.key === '__proto__');

/** The tree as JSON text, or flow YAML (JSON is flow YAML; keys quoted, so never ambiguous). */
function toJsonText(t: Tree): string {
  let text = JSON.stringify(t.leaf);
  for (let i = t.levels.length - 1; i >= 0; i--) {
    const { array, key, siblings } = t.levels[i];
    const rest = siblings.map((s) => JSON.stringify(s));
    text = array
      ? `[${[...rest, text].join(',')}]`
      : `{${[...rest.map((s, j) => `${JSON.stringify(siblingKey(key, j))}:${s}`), `${JSON.stringify(key)}:${text}`].join(',')}}`;
  }
  return text;
}

/** The tree as a JS value (keys defined as own properties: `__proto__` included). */
function toValue(t: Tree): unknown {
  let v = t.leaf;
  for (let i = t.levels.length - 1; i >= 0; i--) {
    const { array, key, siblings } = t.levels[i];
    if (array) v = [...siblings, v];
    else {
      const o: Record<string, unknown> = {};
      siblings.forEach((s, j) => {
        o[siblingKey(key, j)] = s;
      });
      Object.defineProperty(o, key, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      v = o;
    }
  }
  return v;
}

/** Either a value or a one-line UsageError naming `where`; returns which. */
function outcome(fn: () => unknown, where: string): { value?: unknown; refused?: string } {
  try {
    return { value: fn() };
  } catch (e) {
    assert.ok(e instanceof UsageError, `not a UsageError: ${String(e).slice(0, 300)}`);
    assert.ok(!/[\r\n]/.test(e.message), `not one line: ${JSON.stringify(e.message)}`);
    assert.ok(e.message.includes(where), `does not name ${where}: ${e.message}`);
    return { refused: e.message };
  }
}

test('fuzz JSON checks: generated trees are refused exactly when too deep or holding __proto__', (t) => {
  let refused = 0;
  fc.assert(
    fc.property(treeArb(300), (tree) => {
      const text = toJsonText(tree);
      const t0 = performance.now();
      const r = outcome(() => parseJsonChecked(text, 'tree.json'), 'tree.json');
      assert.ok(performance.now() - t0 < 500, `took ${performance.now() - t0} ms`);
      const bad = tree.levels.length > MAX_JSON_DEPTH || hasProto(tree);
      assert.equal(r.refused !== undefined, bad, r.refused ?? 'accepted');
      if (r.refused) refused++;
      else assert.deepEqual(r.value, JSON.parse(text));
    }),
    { numRuns: fuzzRuns(200), seed: FUZZ_SEED },
  );
  assert.ok(refused > 0);
  t.diagnostic(`json trees: ${fuzzRuns(200)} cases, ${refused} refused`);
});

test('fuzz YAML checks: flow trees as for JSON; block trees ≤ 20 deep are always accepted', (t) => {
  let refused = 0;
  fc.assert(
    fc.property(treeArb(300), (tree) => {
      const text = `doc: ${toJsonText(tree)}\n`;
      const t0 = performance.now();
      const r = outcome(() => parseYamlChecked(text, 'flow.yaml'), 'flow.yaml');
      assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
      // `doc:` adds a level.
      const bad = tree.levels.length + 1 > MAX_JSON_DEPTH || hasProto(tree);
      assert.equal(r.refused !== undefined, bad, r.refused ?? 'accepted');
      if (r.refused) refused++;
      else assert.deepEqual(r.value, { doc: JSON.parse(toJsonText(tree)) });
    }),
    { numRuns: fuzzRuns(100), seed: FUZZ_SEED },
  );
  fc.assert(
    fc.property(treeArb(20), fc.constantFrom(2, 4), (tree, indent) => {
      fc.pre(!hasProto(tree));
      const value = toValue(tree);
      const r = outcome(
        () => parseYamlChecked(YAML.stringify(value, { indent }), 'b.yaml'),
        'b.yaml',
      );
      assert.equal(r.refused, undefined);
      assert.deepEqual(r.value, value);
    }),
    { numRuns: fuzzRuns(100), seed: FUZZ_SEED },
  );
  assert.ok(refused > 0);
  t.diagnostic(
    `yaml trees: ${fuzzRuns(100)} flow + ${fuzzRuns(100)} block cases, ${refused} refused`,
  );
});

test('fuzz JSON and YAML checks: damaged text gives a value or a one-line UsageError', (t) => {
  const seeds = fc.oneof(
    treeArb(80).map(toJsonText),
    treeArb(12).map((tree) => (hasProto(tree) ? toJsonText(tree) : YAML.stringify(toValue(tree)))),
  );
  for (const [label, parse] of [
    ['json', (s: string) => parseJsonChecked(s, 'dmg.json')],
    ['yaml', (s: string) => parseYamlChecked(s, 'dmg.json')],
  ] as const) {
    const tally = newTally();
    fc.assert(
      fc.property(seeds, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (seed, muts) => {
        const text = mutateText(seed, muts);
        checkReader(
          {
            read: () => parse(text),
            names: 'dmg.json',
            inputBytes: Buffer.byteLength(text),
            allocPerByte: 16,
            budgetMs: 1000,
          },
          tally,
        );
      }),
      { numRuns: fuzzRuns(150), seed: FUZZ_SEED },
    );
    assert.ok(tally.refused > 0 && tally.accepted > 0, JSON.stringify(tally));
    t.diagnostic(describeTally(`${label} damaged text`, tally));
  }
});
