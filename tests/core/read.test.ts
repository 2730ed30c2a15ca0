/**
 * core/read.ts, the one checked reader: size cap, declared size, `within`, JSON depth and
 * `__proto__` checks, the YAML nesting bound. FIFOs, devices and sockets are in
 * tests/reliability/hostile-files.test.ts (run in a child process, so a regression that blocks
 * on open fails there instead of hanging this file).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { UsageError } from '../../src/core/errors.ts';
import {
  checkJsonValue,
  exists,
  isRegularFile,
  MAX_JSON_DEPTH,
  parseJsonChecked,
  parseYamlChecked,
  readFileChecked,
  readJsonChecked,
  readTextChecked,
  YAML_MAX_NESTING_BOUND,
  yamlNestingBound,
} from '../../src/core/read.ts';
import { tempDir } from '../data/helpers.ts';
import { ROOT } from '../helpers/cli.ts';

/** `fn` throws a one-line UsageError whose message matches `pattern`. */
function refuses(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, `not a UsageError: ${String(e)}`);
    assert.ok(!/[\r\n]/.test(e.message), `not one line: ${JSON.stringify(e.message)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

const nested = (d: number, open: string, close: string, leaf = '0') =>
  open.repeat(d) + leaf + close.repeat(d);

test('size cap: a file at the cap is read, one byte more is refused before it is read', () => {
  const dir = tempDir('read-cap');
  const f = path.join(dir, 'cap.bin');
  fs.writeFileSync(f, Buffer.alloc(100, 7));
  assert.equal(readFileChecked(f, { maxBytes: 100 }).length, 100);
  refuses(
    () => readFileChecked(f, { maxBytes: 99, what: 'a test file' }),
    /cap\.bin: is 100 bytes; a test file is at most 99 bytes/,
  );
  fs.writeFileSync(f, '');
  assert.equal(readTextChecked(f, { maxBytes: 0 }), '');
});

test('expectBytes: a size other than the declared one is refused', () => {
  const dir = tempDir('read-expect');
  const f = path.join(dir, 'w.bin');
  fs.writeFileSync(f, Buffer.alloc(12));
  assert.equal(readFileChecked(f, { maxBytes: 100, expectBytes: 12 }).length, 12);
  refuses(
    () => readFileChecked(f, { maxBytes: 100, expectBytes: 16 }),
    /w\.bin: is 12 bytes; expected 16/,
  );
});

test('a missing file: the caller’s wording, else "no such file"; a directory is refused', () => {
  const dir = tempDir('read-missing');
  refuses(() => readFileChecked(path.join(dir, 'none'), { maxBytes: 1 }), /none: no such file/);
  refuses(
    () => readFileChecked(path.join(dir, 'none'), { maxBytes: 1, missing: 'not built yet' }),
    /none: not built yet/,
  );
  refuses(
    () => readFileChecked(dir, { maxBytes: 1, what: 'a manifest' }),
    /is a directory, not a regular file \(expected a manifest\)/,
  );
});

test('within: a symlink resolving outside the directory is refused; inside is read', () => {
  const root = tempDir('read-within');
  const inner = path.join(root, 'ckpt');
  fs.mkdirSync(inner);
  fs.writeFileSync(path.join(root, 'secret'), 'outside');
  fs.writeFileSync(path.join(inner, 'real'), 'inside');
  // A name starting with ".." is still inside.
  fs.writeFileSync(path.join(inner, '..data'), 'dots');
  fs.symlinkSync(path.join(root, 'secret'), path.join(inner, 'out-link'));
  fs.symlinkSync('real', path.join(inner, 'in-link'));
  fs.symlinkSync('../ckpt/real', path.join(inner, 'round-trip'));
  const opts = { maxBytes: 100, within: inner };
  refuses(
    () => readTextChecked(path.join(inner, 'out-link'), opts),
    /out-link: resolves to .*secret, outside/,
  );
  assert.equal(readTextChecked(path.join(inner, 'in-link'), opts), 'inside');
  assert.equal(readTextChecked(path.join(inner, 'round-trip'), opts), 'inside');
  assert.equal(readTextChecked(path.join(inner, '..data'), opts), 'dots');
  // A relative path that climbs out is the same as a link.
  refuses(() => readTextChecked(path.join(inner, '..', 'secret'), opts), /outside/);
});

test('exists counts a dangling symlink; isRegularFile does not', () => {
  const dir = tempDir('read-exists');
  const link = path.join(dir, 'dangling');
  fs.symlinkSync(path.join(dir, 'gone'), link);
  assert.equal(exists(link), true);
  assert.equal(isRegularFile(link), false);
  assert.equal(exists(path.join(dir, 'gone')), false);
  refuses(() => readFileChecked(link, { maxBytes: 1 }), /dangling: no such file/);
});

test('JSON depth: 64 levels are read, 65 refused; 200,000 levels refused at once, one line', () => {
  assert.deepEqual(
    parseJsonChecked(nested(MAX_JSON_DEPTH, '[', ']'), 'ok.json'),
    JSON.parse(nested(MAX_JSON_DEPTH, '[', ']')),
  );
  refuses(
    () => parseJsonChecked(nested(MAX_JSON_DEPTH + 1, '[', ']'), 'deep.json'),
    /^deep\.json: nests deeper than 64 levels \(at (\[0\]){16}…(\[0\]){8}\)$/,
  );
  const t0 = performance.now();
  refuses(() => parseJsonChecked(nested(200_000, '[', ']'), 'a.json'), /a\.json: nests deeper/);
  refuses(
    () => parseJsonChecked(nested(200_000, '{"a":', '}'), 'o.json'),
    /o\.json: nests deeper than 64 levels \(at a[.a]{47}…[.a]{24}\)/,
  );
  assert.ok(performance.now() - t0 < 2000, 'deep JSON took over 2 s');
  // A caller may ask for less.
  refuses(() => parseJsonChecked('{"a":{"b":[1]}}', 'x.json', 2), /nests deeper than 2/);
});

test('JSON: a __proto__ key is refused wherever it is; broken text names the file', () => {
  refuses(() => parseJsonChecked('{"__proto__":{"x":1}}', 'p.json'), /"__proto__".*the top/);
  refuses(
    () => parseJsonChecked('{"a":[{"b":{"__proto__":1}}]}', 'p.json'),
    /p\.json: key "__proto__" is not allowed \(at a\[0\]\.b\)/,
  );
  // "constructor" and "prototype" are ordinary own keys once parsed: harmless.
  assert.deepEqual(parseJsonChecked('{"constructor":1,"prototype":2}', 'c.json'), {
    constructor: 1,
    prototype: 2,
  });
  refuses(() => parseJsonChecked('{"a": ', 'b.json'), /^b\.json: is not valid JSON \(/);
  // checkJsonValue on a value built in code (a cycle is "infinitely deep", and ends).
  const cyc: unknown[] = [];
  cyc.push(cyc);
  refuses(() => checkJsonValue(cyc, 'cycle'), /cycle: nests deeper than 64/);
});

test('readJsonChecked: caps, then parses with the checks; errors name the file', () => {
  const dir = tempDir('read-json');
  const f = path.join(dir, 'r.json');
  fs.writeFileSync(f, '{"a": [1, 2]}');
  assert.deepEqual(readJsonChecked(f, { maxBytes: 100 }), { a: [1, 2] });
  refuses(() => readJsonChecked(f, { maxBytes: 100, maxDepth: 1 }), /r\.json: nests deeper/);
  refuses(() => readJsonChecked(f, { maxBytes: 5 }), /r\.json: is 13 bytes/);
});

test('YAML: deep flow and block nesting are refused from the tokens, quickly and in one line', () => {
  const t0 = performance.now();
  for (const [name, text] of [
    ['flow.yaml', nested(200_000, '[', ']')],
    ['map.yaml', `a: ${nested(200_000, '{a: ', '}', '1')}`],
    ['dash.yaml', `${'- '.repeat(200_000)}1\n`],
    ['indent.yaml', Array.from({ length: 400 }, (_, i) => `${' '.repeat(2 * i)}- a:`).join('\n')],
  ] as const)
    refuses(() => parseYamlChecked(text, name), new RegExp(`^${name}: nests too deeply`));
  assert.ok(performance.now() - t0 < 2000, 'deep YAML took over 2 s');
  // Under the bound but over the depth limit: refused by the exact check.
  refuses(() => parseYamlChecked(nested(65, '[', ']'), 'y.yaml'), /y\.yaml: nests deeper than 64/);
  assert.deepEqual(
    parseYamlChecked(nested(64, '[', ']'), 'y.yaml'),
    JSON.parse(nested(64, '[', ']')),
  );
  refuses(() => parseYamlChecked('__proto__: {name: x}\n', 'p.yaml'), /p\.yaml: key "__proto__"/);
  refuses(() => parseYamlChecked('a: [1, 2\n', 'b.yaml'), /^b\.yaml: is not valid YAML \(/);
  refuses(() => parseYamlChecked('a: &a [*a]\n', 'cyc.yaml'), /cyc\.yaml: nests deeper/);
});

test('YAML nesting bound: brackets in quotes and block scalars do not count; the bound holds', () => {
  assert.equal(yamlNestingBound(`a: "${'['.repeat(500)}"\nb: '{{{{'\n`), 4);
  assert.ok(yamlNestingBound(`x: |\n${' '.repeat(300)}[[[[\n`) < 10);
  // The bound is never below the depth yaml builds (checked on block, flow and mixed text).
  const depth = (v: unknown): number =>
    v !== null && typeof v === 'object'
      ? 1 + Math.max(0, ...Object.values(v as object).map(depth))
      : 0;
  for (const v of [
    { a: [{ b: { c: [1, [2, [3]]] } }] },
    [[[{ x: [[{ y: 1 }]] }]]],
    { deep: JSON.parse(nested(30, '[', ']')) },
  ]) {
    for (const text of [YAML.stringify(v), YAML.stringify(v, { indent: 4 }), JSON.stringify(v)])
      assert.ok(yamlNestingBound(text) >= depth(v), `${text}: bound below depth ${depth(v)}`);
  }
});

test('YAML nesting bound: every experiment file of the repository, as YAML, is far inside it', () => {
  const dir = path.join(ROOT, 'experiments');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const v = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    for (const indent of [2, 4]) {
      const bound = yamlNestingBound(YAML.stringify(v, { indent }));
      assert.ok(bound <= YAML_MAX_NESTING_BOUND / 4, `${f} (indent ${indent}): bound ${bound}`);
    }
  }
});
