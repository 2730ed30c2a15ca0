/**
 * The artifact store (src/experiments/artifact-store.ts) and the run store over it: one contract,
 * run against the directory store and against an in-memory store written here from the interface
 * alone (a Map), which is the evidence that the interface is enough for another backend; records
 * that carry their SHA-256 and are refused, with a warning naming them, when a byte changes; temp
 * files of an interrupted write never read as records; and a damaged record in a finished run
 * directory recomputed on resume.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { isUsageError, UsageError } from '../../src/core/errors.ts';
import { sha256Json } from '../../src/core/hash.ts';
import {
  type ArtifactStore,
  checkKey,
  DirectoryStore,
  openRecord,
  RECORD_HASH,
  sealRecord,
} from '../../src/experiments/artifact-store.ts';
import type { Cell, Reference } from '../../src/experiments/results-schema.ts';
import { RunStore, type SeedScenario } from '../../src/experiments/store.ts';
import { sampleCell, sampleReference, sampleSeedScenario } from '../helpers/records.ts';
import { TINY_EXPERIMENT } from '../helpers/tiny-experiment.ts';

/** A store in memory, written against the interface only. */
class MemoryStore implements ArtifactStore {
  readonly location = 'memory:';
  readonly blobs = new Map<string, Uint8Array>();

  describe(key: string): string {
    checkKey(key);
    return `memory:${key}`;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    checkKey(key);
    this.blobs.set(key, Uint8Array.from(bytes)); // a copy: a put is whole once it returns
  }

  async get(key: string, opts: { maxBytes: number }): Promise<Uint8Array | null> {
    checkKey(key);
    const b = this.blobs.get(key);
    if (!b) return null;
    if (b.length > opts.maxBytes)
      throw new UsageError(this.describe(key), `is ${b.length} bytes; at most ${opts.maxBytes}`);
    return Uint8Array.from(b);
  }

  async has(key: string): Promise<boolean> {
    checkKey(key);
    return this.blobs.has(key);
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.blobs.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async remove(key: string): Promise<void> {
    checkKey(key);
    this.blobs.delete(key);
  }
}

const made: string[] = [];
const tempDir = (tag: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `uib-${tag}-`));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const text = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('utf8'));

const CELL: Cell = sampleCell({
  method: 'ft+uib',
  methodId: 'ft+uib',
  details: { note: 'ü ∑ "quoted"' },
});
const REF: Reference = sampleReference({ role: 'retrain', member: 2 });
const INFO: SeedScenario = sampleSeedScenario({ classNames: ['0', '1'] });

interface Backend {
  name: string;
  make: () => ArtifactStore;
  /** Overwrite what is stored under `key` as damage would: not through `put`. */
  damage: (store: ArtifactStore, key: string, b: Uint8Array) => void;
}

const BACKENDS: Backend[] = [
  {
    name: 'DirectoryStore',
    make: () => new DirectoryStore(tempDir('astore')),
    damage: (s, key, b) => fs.writeFileSync(s.describe(key), b),
  },
  {
    name: 'MemoryStore (the test’s own, from the interface)',
    make: () => new MemoryStore(),
    damage: (s, key, b) => (s as MemoryStore).blobs.set(key, Uint8Array.from(b)),
  },
];

/** A run store over `store` whose warnings are collected. */
function runStore(store: ArtifactStore): { rs: RunStore; warnings: string[] } {
  const warnings: string[] = [];
  return { rs: new RunStore(store, { warn: (l) => warnings.push(l) }), warnings };
}

const CELL_KEY = 'cells/random-20pct/seed-1/ft+uib.json';

for (const b of BACKENDS) {
  describe(`the ArtifactStore contract: ${b.name}`, () => {
    test('put, get, has, overwrite, remove', async () => {
      const s = b.make();
      assert.equal(await s.get('a/b.json', { maxBytes: 100 }), null, 'missing: null');
      assert.equal(await s.has('a/b.json'), false);
      await s.put('a/b.json', bytes('one'));
      assert.equal(text(await s.get('a/b.json', { maxBytes: 100 })), 'one');
      assert.equal(await s.has('a/b.json'), true);
      await s.put('a/b.json', bytes('two, longer'));
      assert.equal(text(await s.get('a/b.json', { maxBytes: 100 })), 'two, longer', 'replaced');
      await s.put('a/empty', new Uint8Array(0));
      assert.equal(text(await s.get('a/empty', { maxBytes: 100 })), '', 'empty is not missing');
      await s.remove('a/b.json');
      await s.remove('a/b.json'); // nothing there: not an error
      assert.equal(await s.get('a/b.json', { maxBytes: 100 }), null);
      assert.equal(await s.has('a/b.json'), false);
    });

    test('get refuses a blob over maxBytes with a UsageError naming it', async () => {
      const s = b.make();
      await s.put('big/x.json', bytes('0123456789'));
      await assert.rejects(
        () => s.get('big/x.json', { maxBytes: 9 }),
        (e: unknown) => isUsageError(e) && e.message.includes(s.describe('big/x.json')),
      );
      assert.equal(text(await s.get('big/x.json', { maxBytes: 10 })), '0123456789');
    });

    test('list: every key under a prefix, sorted, as a string prefix', async () => {
      const s = b.make();
      const keys = [
        'cells/ab/seed-1/ga.json',
        'cells/a/seed-1/ft.json',
        'cells/a/seed-1/_original.json',
        'cells/a/seed-2/ft.json',
        'cache/manifests/x.json',
      ];
      for (const k of keys) await s.put(k, bytes(k));
      assert.deepEqual(await s.list(''), [...keys].sort());
      assert.deepEqual(await s.list('cells/a/'), [
        'cells/a/seed-1/_original.json',
        'cells/a/seed-1/ft.json',
        'cells/a/seed-2/ft.json',
      ]);
      assert.deepEqual(await s.list('cells/a'), [
        'cells/a/seed-1/_original.json',
        'cells/a/seed-1/ft.json',
        'cells/a/seed-2/ft.json',
        'cells/ab/seed-1/ga.json',
      ]);
      assert.deepEqual(await s.list('cells/a/seed-1/f'), ['cells/a/seed-1/ft.json']);
      assert.deepEqual(await s.list('nothing/'), []);
      await s.remove('cells/a/seed-2/ft.json');
      assert.equal((await s.list('cells/a/')).length, 2);
    });

    test('keys are relative: none reaches out of the store', async () => {
      const s = b.make();
      for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', 'a/./b', '.lock', 'a\\b'])
        await assert.rejects(async () => s.put(bad, bytes('x')), /not a relative key/, bad);
    });

    test('run records round trip, each with its SHA-256', async () => {
      const s = b.make();
      const { rs, warnings } = runStore(s);
      assert.equal(await rs.readCell('random-20pct', 1, 'ft+uib'), null);
      await rs.writeCell(CELL);
      await rs.writeReference(REF);
      await rs.writeSeedScenario(INFO);
      assert.deepEqual(await rs.readCell('random-20pct', 1, 'ft+uib'), CELL);
      assert.deepEqual(await rs.readReference('random-20pct', 1, 'retrain', 2), REF);
      assert.deepEqual(await rs.readSeedScenario('random-20pct', 1), INFO);
      // The on-disk layout: the paths of store.ts's header, as keys.
      assert.deepEqual(await s.list('cells/'), [
        'cells/random-20pct/seed-1/_retrain-2.json',
        'cells/random-20pct/seed-1/_scenario.json',
        CELL_KEY,
      ]);
      // Plain JSON with the record's own members at the top, and the hash beside them.
      const stored = JSON.parse(text(await s.get(CELL_KEY, { maxBytes: 1 << 20 }))!);
      assert.equal(stored.finishedAt, CELL.finishedAt);
      const { [RECORD_HASH]: hash, ...rest } = stored;
      assert.equal(hash, sha256Json(rest));
      assert.deepEqual(warnings, []);
    });

    test('every one-byte change of a stored record is a miss, with one warning naming it', async () => {
      const s = b.make();
      const { rs, warnings } = runStore(s);
      await rs.writeCell(CELL);
      const good = (await s.get(CELL_KEY, { maxBytes: 1 << 20 }))!;
      let used = 0;
      for (let i = 0; i < good.length; i++) {
        const bad = Uint8Array.from(good);
        bad[i] ^= 0x01;
        b.damage(s, CELL_KEY, bad);
        const got = await rs.readCell('random-20pct', 1, 'ft+uib');
        if (got !== null) {
          used++;
          assert.deepEqual(got, CELL, `byte ${i}: a changed record was used`);
        }
      }
      assert.equal(used, 0, 'no damaged record was read as one');
      assert.equal(warnings.length, good.length, 'one warning per damaged content');
      const where = s.describe(CELL_KEY);
      for (const w of warnings) {
        assert.ok(w.startsWith(`warning: ${where}: `), w);
        assert.ok(!/[\r\n]/.test(w), 'one line');
      }
      assert.ok(warnings.some((w) => /differs from its recordSha256/.test(w)));
      // The same damaged bytes read again: no second line.
      await rs.readCell('random-20pct', 1, 'ft+uib');
      assert.equal(warnings.length, good.length);
      // Rewritten, it is good again.
      await rs.writeCell(CELL);
      assert.deepEqual(await rs.readCell('random-20pct', 1, 'ft+uib'), CELL);
    });

    test('an unhashed record (an older uib) and a hashed one of another schema are misses', async () => {
      const s = b.make();
      const { rs, warnings } = runStore(s);
      await s.put(CELL_KEY, bytes(JSON.stringify(CELL)));
      assert.equal(await rs.readCell('random-20pct', 1, 'ft+uib'), null);
      assert.match(warnings[0], /carries no recordSha256 .*; not used, recomputed$/);
      await s.put(CELL_KEY, sealRecord({ ...CELL, status: 'maybe' }));
      assert.equal(await rs.readCell('random-20pct', 1, 'ft+uib'), null);
      assert.match(warnings[1], /is not a record of its kind \(status: /);
      await s.put(CELL_KEY, bytes('{"half": '));
      assert.equal(await rs.readCell('random-20pct', 1, 'ft+uib'), null);
      assert.match(warnings[2], /is not valid JSON/);
      assert.equal(warnings.length, 3);
    });

    test('a cached manifest is checked against the SHA-256 beside it', async () => {
      const s = b.make();
      const { rs, warnings } = runStore(s);
      const manifest = '{"schemaVersion": 1, "seed": 3}\n';
      assert.equal(await rs.readManifest('m.json'), null);
      await rs.writeManifest('m.json', manifest);
      assert.equal(await rs.readManifest('m.json'), manifest);
      assert.equal(text(await s.get('cache/manifests/m.json', { maxBytes: 1000 })), manifest);
      b.damage(s, 'cache/manifests/m.json', bytes(manifest.replace('3', '4')));
      assert.equal(await rs.readManifest('m.json'), null);
      assert.match(warnings[0], /m\.json: differs from the SHA-256 beside it/);
      await s.remove('cache/manifests/m.json.sha256');
      assert.equal(await rs.readManifest('m.json'), null);
      assert.match(warnings[1], /m\.json: has no SHA-256 beside it/);
      await rs.removeManifest('m.json');
      assert.deepEqual(await s.list('cache/'), []);
      assert.equal(warnings.length, 2);
    });
  });
}

test('sealRecord and openRecord: canonical, so layout does not matter and values do', () => {
  const sealed = sealRecord({ b: [1, 2.5, null], a: { z: 'x', y: undefined } });
  const v = JSON.parse(Buffer.from(sealed).toString('utf8'));
  assert.deepEqual(Object.keys(v), [RECORD_HASH, 'b', 'a'], 'the hash first; undefined dropped');
  // Re-laid out (keys reordered, no whitespace): the same record.
  const relaid = bytes(JSON.stringify({ a: v.a, [RECORD_HASH]: v[RECORD_HASH], b: v.b }));
  assert.deepEqual(openRecord(relaid, 'r.json'), {
    ok: true,
    value: { b: [1, 2.5, null], a: { z: 'x' } },
  });
  const changed = bytes(JSON.stringify({ ...v, b: [1, 2.5, 0] }));
  assert.equal(openRecord(changed, 'r.json').ok, false);
  assert.throws(() => sealRecord({ [RECORD_HASH]: 'x' }), /without a member/);
});

describe('DirectoryStore: what only a directory has', () => {
  test('a temp file an interrupted write left is never read, listed or kept', async () => {
    const root = tempDir('astore-tmp');
    const s = new DirectoryStore(root);
    const { rs, warnings } = runStore(s);
    const dir = path.join(root, 'cells', 'random-20pct', 'seed-1');
    fs.mkdirSync(dir, { recursive: true });
    // What a writer killed between its write and its rename leaves (core/atomic.ts).
    const half = path.join(dir, '.ft+uib.json.tmp-99999-deadbeef');
    fs.writeFileSync(half, Buffer.from(sealRecord(CELL)).subarray(0, 200));
    assert.equal(await rs.readCell('random-20pct', 1, 'ft+uib'), null, 'no record yet');
    assert.deepEqual(await s.list(''), [], 'a temp is not an artifact');
    // A finished record beside a newer temp: the record is what is read.
    await rs.writeCell(CELL);
    fs.writeFileSync(path.join(dir, '.ft+uib.json.tmp-99998-0badf00d'), '{"half": ');
    assert.deepEqual(await rs.readCell('random-20pct', 1, 'ft+uib'), CELL);
    assert.deepEqual(await s.list(''), [CELL_KEY]);
    assert.equal(rs.removeStaleTemps(), 2);
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n.startsWith('.')),
      [],
      'the temps are gone',
    );
    assert.deepEqual(warnings, [], 'a temp is not damage');
  });

  test('a FIFO or a link out of the store as a record: a miss with a warning, never followed', async () => {
    const root = tempDir('astore-hostile');
    const outside = tempDir('astore-outside');
    const { rs, warnings } = runStore(new DirectoryStore(root));
    const file = path.join(root, ...CELL_KEY.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(path.join(outside, 'cell.json'), sealRecord(CELL));
    fs.symlinkSync(path.join(outside, 'cell.json'), file);
    assert.equal(await rs.readCell('random-20pct', 1, 'ft+uib'), null);
    assert.match(warnings[0], /outside/);
    fs.rmSync(file);
    execFileSync('mkfifo', [file]);
    assert.equal(await rs.readCell('random-20pct', 1, 'ft+uib'), null);
    assert.match(warnings[1], /FIFO/);
  });

  test('the lock: a live holder refuses, naming its pid; the lock is no artifact', async () => {
    const root = tempDir('astore-lock');
    const s = new DirectoryStore(root);
    const release = RunStore.inDirectory(root).lock();
    assert.deepEqual(await s.list(''), []);
    release();
    // The parent of this process is alive and not us: its lock is refused.
    fs.writeFileSync(path.join(root, '.lock'), String(process.ppid));
    assert.throws(
      () => RunStore.inDirectory(root).lock(),
      new RegExp(`is in use by another uib run \\(pid ${process.ppid}\\)`),
    );
  });

  test('a store without the directory capabilities says so in one line', () => {
    const rs = new RunStore(new MemoryStore());
    assert.throws(() => rs.lock(), /memory:: this store cannot lock a run/);
    assert.throws(() => rs.cacheDir, /no local directory for the model cache/);
    assert.equal(rs.removeStaleTemps(), 0);
  });
});

// ─── the model cache: weights by checkpoint.ts, metadata by the cache ────────────────────────

test('a cached model: its weights and its metadata are checked; damage is a miss with a warning', async () => {
  const { initBackend } = await import('../../src/backend/index.ts');
  const { buildModel } = await import('../../src/models/index.ts');
  const { loadCachedModel, saveCachedModel } = await import('../../src/experiments/cache.ts');
  await initBackend('cpu');
  const dir = path.join(tempDir('astore-model'), 'm');
  const model = buildModel({ arch: 'mlp', inputShape: [4], numClasses: 3, hidden: [5], seed: 1 });
  const recipe = { optimizer: { name: 'sgd' as const, lr: 0.1 }, epochs: 1, batchSize: 8, seed: 1 };
  const cost = { timeMs: 1234.5, gradEvals: 10 };
  await saveCachedModel(dir, model, { recipe, scenarioHash: 'd'.repeat(64), extra: { cost } });
  model.dispose();
  const warnings: string[] = [];
  const warn = (l: string) => warnings.push(l);
  const hit = await loadCachedModel(dir, { warn });
  assert.deepEqual(hit?.extra, { cost }, 'the extra as given, its hash taken off');
  hit?.model.dispose();

  const metaFile = path.join(dir, 'metadata.json');
  const meta = fs.readFileSync(metaFile, 'utf8');
  // A changed cost (valid JSON, valid checkpoint): refused by the cache's own hash.
  fs.writeFileSync(metaFile, meta.replace('1234.5', '1234.6'));
  assert.equal(await loadCachedModel(dir, { warn }), null);
  assert.match(
    warnings[0],
    /^warning: .*metadata\.json: content differs from its extra\.recordSha256/,
  );
  // Damaged weights: refused by checkpoint.ts's SHA-256, and named.
  fs.writeFileSync(metaFile, meta);
  const weights = path.join(dir, 'weights.bin');
  const w = fs.readFileSync(weights);
  w[7] ^= 0x01;
  fs.writeFileSync(weights, w);
  assert.equal(await loadCachedModel(dir, { warn }), null);
  assert.match(warnings[1], /^warning: .*weights\.bin: SHA-256 differs/);
  w[7] ^= 0x01;
  fs.writeFileSync(weights, w);
  // An entry from before the metadata hash: its weights checked, as then.
  const old = JSON.parse(meta);
  delete old.extra[RECORD_HASH];
  fs.writeFileSync(metaFile, JSON.stringify(old));
  const legacy = await loadCachedModel(dir, { warn });
  assert.deepEqual(legacy?.extra, { cost });
  legacy?.model.dispose();
  assert.equal(warnings.length, 2);
});

// ─── the runner: a damaged record in a finished run is recomputed on resume ────────────────────

const TINY = {
  ...TINY_EXPERIMENT,
  seeds: [1],
  options: { exampleImages: 0, evalBatchSize: 300, retrainSeeds: 1 },
};

/** Run `fn`, collecting what it writes to stderr as text. */
async function capturingStderr<T>(fn: () => Promise<T>): Promise<{ value: T; err: string }> {
  let err = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof s !== 'string') return (write as (...a: unknown[]) => boolean)(s, ...rest);
    err += s;
    return true;
  }) as typeof process.stderr.write;
  try {
    return { value: await fn(), err };
  } finally {
    process.stderr.write = write;
  }
}

test('uib run resumed on a finished run with a damaged cell and an unhashed reference: both recomputed', async () => {
  const { initBackend } = await import('../../src/backend/index.ts');
  const { runExperiment } = await import('../../src/experiments/runner.ts');
  const { parseExperiment } = await import('../../src/experiments/schema.ts');
  await initBackend('cpu');
  const dir = tempDir('astore-run');
  const out = path.join(dir, 'out');
  try {
    const exp = parseExperiment(TINY, 'tiny');
    const run = () => runExperiment(exp, { outDir: out, backend: 'cpu', quiet: true });
    const first = await run();
    assert.equal(first.computed, 3, 'the original, Retrain and ft');
    const seedDir = path.join(out, 'cells', 'bias-stripe-3', 'seed-1');
    const cellFile = path.join(seedDir, 'ft.json');
    const refFile = path.join(seedDir, '_original.json');
    const before = JSON.parse(fs.readFileSync(cellFile, 'utf8'));

    // One byte of the cell changed where the JSON stays valid: a digit of its time stamp.
    const raw = fs.readFileSync(cellFile);
    const at = raw.indexOf('"finishedAt": "') + '"finishedAt": "'.length + 3;
    raw[at] = raw[at] === 0x30 ? 0x31 : 0x30;
    fs.writeFileSync(cellFile, raw);
    // The original's record as an older uib wrote it: no hash.
    const { [RECORD_HASH]: _, ...bare } = JSON.parse(fs.readFileSync(refFile, 'utf8'));
    fs.writeFileSync(refFile, JSON.stringify(bare, null, 2));

    const { value: again, err } = await capturingStderr(run);
    assert.equal(again.computed, 2, 'the damaged cell and the unhashed reference');
    assert.equal(again.skipped, 1, 'Retrain reused');
    const lines = err.split('\n').filter((l) => l.startsWith('warning: '));
    assert.ok(
      lines.some((l) =>
        l.startsWith(`warning: ${cellFile}: content differs from its recordSha256`),
      ),
      err,
    );
    assert.ok(
      lines.some((l) => l.startsWith(`warning: ${refFile}: carries no recordSha256`)),
      err,
    );
    const after = JSON.parse(fs.readFileSync(cellFile, 'utf8'));
    assert.notEqual(after.finishedAt, before.finishedAt, 'the cell was run again');
    const { [RECORD_HASH]: hash, ...rest } = after;
    assert.equal(hash, sha256Json(rest), 'and stored with its hash');
    for (const id of ['ua', 'ra', 'ta'])
      assert.deepEqual(after.metrics.values[id], before.metrics.values[id], `${id}: same value`);
    assert.equal(again.results.complete, true);

    // Now whole: a third run finds everything done and warns of nothing.
    const { value: third, err: quiet } = await capturingStderr(run);
    assert.equal(third.computed, 0);
    assert.doesNotMatch(quiet, /warning: /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
