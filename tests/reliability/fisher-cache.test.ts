/**
 * The F_D cache is a claim about one model (unlearn/uib/fisher-cache.ts). A cache of another
 * model, one without the hash of its weights, a rescaled or damaged fisher.bin, and non-finite or
 * negative values are refused with one line naming the file; the deletion record holds the hashes
 * of the cache files the prior read, and `uib verify` fails when they change afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/backend/index.ts';
import { UsageError } from '../../src/core/errors.ts';
import { sha256, sha256Json } from '../../src/core/hash.ts';
import { rngFor } from '../../src/core/rng.ts';
import {
  createScenario,
  materialiseScenario,
  type Scenario,
  writeManifest,
} from '../../src/data/scenarios/index.ts';
import { saveCheckpoint } from '../../src/models/checkpoint.ts';
import { buildModel, paramGroups } from '../../src/models/index.ts';
import type { ModelSpec } from '../../src/models/types.ts';
import { trainModel } from '../../src/train/train.ts';
import { RECORD_FILE, readDeletionRecord } from '../../src/unlearn/record.ts';
import {
  FISHER_BIN,
  FISHER_JSON,
  loadFisherCache,
  writeTrainingFisherCache,
} from '../../src/unlearn/uib/fisher-cache.ts';
import { tempDir } from '../data/helpers.ts';
import { uib } from '../helpers/cli.ts';

const spec = (seed: number): ModelSpec => ({
  arch: 'mlp',
  inputShape: [28, 28, 1],
  numClasses: 10,
  hidden: [8],
  seed,
});

interface Fixture {
  dir: string;
  manifestFile: string;
  s: Scenario;
  /** Two checkpoints of one architecture trained from different seeds, each with its cache. */
  ckpt: string;
  other: string;
  model: LayersModel;
}

let ready: Promise<Fixture> | undefined;
function fixture(): Promise<Fixture> {
  ready ??= (async () => {
    await initBackend('cpu');
    const dir = tempDir('fisher-cache');
    const manifest = createScenario({
      dataset: 'mnist',
      seed: 2,
      trainSize: 120,
      testSize: 30,
      scenario: { kind: 'random', forgetFraction: 0.2 },
    });
    const manifestFile = path.join(dir, 'scenario.json');
    writeManifest(manifestFile, manifest);
    const s = materialiseScenario(manifest);
    const recipe = {
      optimizer: { name: 'adam' as const, lr: 3e-3 },
      epochs: 1,
      batchSize: 32,
      seed: 1,
    };
    const save = async (seed: number, name: string) => {
      const model = buildModel(spec(seed));
      await trainModel(model, s.train, recipe, { quiet: true });
      const ckpt = path.join(dir, name);
      await saveCheckpoint(ckpt, model, { recipe, scenarioHash: sha256Json(manifest) });
      writeTrainingFisherCache(ckpt, model, s.train, { rng: rngFor(1, 'test', 'fisher') });
      return { ckpt, model };
    };
    const a = await save(1, 'ckpt');
    const b = await save(2, 'other');
    b.model.dispose();
    return { dir, manifestFile, s, ckpt: a.ckpt, other: b.ckpt, model: a.model };
  })();
  return ready;
}

/** A copy of the checkpoint with `edit` applied to its cache files. */
async function copyWith(name: string, edit: (dir: string, f: Fixture) => void): Promise<string> {
  const f = await fixture();
  const dir = path.join(f.dir, name);
  fs.cpSync(f.ckpt, dir, { recursive: true });
  edit(dir, f);
  return dir;
}

const editJson = (file: string, edit: (v: Record<string, unknown>) => void) => {
  const v = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(v);
  fs.writeFileSync(file, JSON.stringify(v));
};

/** fisher.bin with `edit` applied to its values; `rehash` also fixes fisher.json's binSha256. */
function editBin(dir: string, edit: (v: Float32Array) => void, rehash: boolean) {
  const file = path.join(dir, FISHER_BIN);
  const b = fs.readFileSync(file);
  const v = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  edit(v);
  const bytes = new Uint8Array(v.buffer);
  fs.writeFileSync(file, bytes);
  if (rehash) editJson(path.join(dir, FISHER_JSON), (j) => (j.binSha256 = sha256(bytes)));
}

async function refused(dir: string, file: string, pattern: RegExp) {
  const f = await fixture();
  assert.throws(
    () => loadFisherCache(dir, paramGroups(f.model), f.model),
    (e) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.equal(e.where, path.join(dir, file));
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes('\n'));
      return true;
    },
  );
}

test('a good cache loads, with the hashes of both files as read', async () => {
  const f = await fixture();
  const c = loadFisherCache(f.ckpt, paramGroups(f.model), f.model)!;
  assert.equal(c.kind, 'fisher-stratified');
  assert.equal(c.n, 120);
  assert.equal(c.files?.binSha256, sha256(fs.readFileSync(path.join(f.ckpt, FISHER_BIN))));
  assert.equal(c.files?.jsonSha256, sha256(fs.readFileSync(path.join(f.ckpt, FISHER_JSON))));
  assert.equal(loadFisherCache(path.join(f.dir, 'nowhere'), paramGroups(f.model), f.model), null);
});

test('a cache of another model (same architecture, other weights) is refused', async () => {
  const dir = await copyWith('foreign', (d, f) => {
    for (const n of [FISHER_JSON, FISHER_BIN])
      fs.copyFileSync(path.join(f.other, n), path.join(d, n));
  });
  await refused(dir, FISHER_JSON, /was computed for weights .*a cache of another model/);
});

test('a cache without the hash of its weights (or of fisher.bin) is refused', async () => {
  await refused(
    await copyWith('no-weights', (d) =>
      editJson(path.join(d, FISHER_JSON), (j) => delete j.weightsSha256),
    ),
    FISHER_JSON,
    /weightsSha256/,
  );
  await refused(
    await copyWith('no-bin', (d) => editJson(path.join(d, FISHER_JSON), (j) => delete j.binSha256)),
    FISHER_JSON,
    /binSha256/,
  );
  // The previous format had neither: said so, with what to do.
  await refused(
    await copyWith('old', (d) =>
      editJson(path.join(d, FISHER_JSON), (j) => {
        j.format = 'uib-fisher-1';
      }),
    ),
    FISHER_JSON,
    /older uib .* recompute it/,
  );
});

test('fisher.bin scaled ×3 is refused: its SHA-256 is not the one fisher.json states', async () => {
  const dir = await copyWith('scaled', (d) => editBin(d, (v) => v.set(v.map((x) => 3 * x)), false));
  await refused(dir, FISHER_BIN, /SHA-256 .* differs from fisher\.json.* \(damaged or replaced\)/);
});

test('damaged cache files are refused naming the file', async () => {
  await refused(
    await copyWith('truncated', (d) => fs.truncateSync(path.join(d, FISHER_BIN), 100)),
    FISHER_BIN,
    /is 100 bytes; expected \d+/,
  );
  await refused(
    await copyWith('not-json', (d) => fs.appendFileSync(path.join(d, FISHER_JSON), '{')),
    FISHER_JSON,
    /not valid JSON/,
  );
  await refused(
    await copyWith('offset', (d) =>
      editJson(path.join(d, FISHER_JSON), (j) => {
        (j.tensors as { offset: number }[])[1].offset += 4;
      }),
    ),
    FISHER_JSON,
    /does not match the model's parameters/,
  );
  // Values a diagonal Fisher cannot hold, hashes made consistent: still refused.
  for (const [name, value] of [
    ['negative', -1],
    ['nan', Number.NaN],
    ['inf', Number.POSITIVE_INFINITY],
  ] as const) {
    await refused(
      await copyWith(name, (d) => editBin(d, (v) => (v[7] = value), true)),
      FISHER_BIN,
      /value 7 is .*finite and ≥ 0/,
    );
  }
  await refused(
    await copyWith('fifo', (d) => {
      fs.rmSync(path.join(d, FISHER_BIN));
      execFileSync('mkfifo', [path.join(d, FISHER_BIN)]);
    }),
    FISHER_BIN,
    /FIFO/,
  );
  await refused(
    await copyWith('escape', (d, f) => {
      fs.rmSync(path.join(d, FISHER_BIN));
      fs.symlinkSync(path.join(f.other, FISHER_BIN), path.join(d, FISHER_BIN));
    }),
    FISHER_BIN,
    /outside/,
  );
});

test('the record holds the cache hashes; a cache changed after the run fails uib verify', async () => {
  const f = await fixture();
  const out = path.join(f.dir, 'unlearned');
  const args = [
    'unlearn',
    '--checkpoint',
    f.ckpt,
    '--scenario',
    f.manifestFile,
    '--method',
    'uib-if',
    '--param',
    'steps=2',
    '--backend',
    'cpu',
    '--quiet',
    '--out',
    out,
  ];
  const r = await uib(...args);
  assert.equal(r.code, 0, r.err);
  const rec = readDeletionRecord(path.join(out, RECORD_FILE));
  assert.deepEqual(rec.fisherCache, {
    dir: f.ckpt,
    jsonSha256: sha256(fs.readFileSync(path.join(f.ckpt, FISHER_JSON))),
    binSha256: sha256(fs.readFileSync(path.join(f.ckpt, FISHER_BIN))),
  });
  const ok = await uib('verify', out);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /fisher +.*fisher\.json and fisher\.bin match the record/);
  // A consistent ×3 forgery of the cache (fisher.json rehashed): the record no longer matches.
  const bin = path.join(f.ckpt, FISHER_BIN);
  const json = path.join(f.ckpt, FISHER_JSON);
  const saved = [fs.readFileSync(bin), fs.readFileSync(json)];
  try {
    editBin(f.ckpt, (v) => v.set(v.map((x) => 3 * x)), true);
    const bad = await uib('verify', out);
    assert.equal(bad.code, 2, bad.out);
    assert.match(bad.err, /fisher\.(json|bin): SHA-256 .* no longer matches fisherCache\./);
    // (A forgery made before the run is consistent, so it would be read and named by the record:
    // nothing is signed; docs/reliability.md, Limits.)
  } finally {
    fs.writeFileSync(bin, saved[0]);
    fs.writeFileSync(json, saved[1]);
  }
  // The record's cache entry edited away: contradicts the curvature source.
  const copy = path.join(f.dir, 'unlearned-copy');
  fs.cpSync(out, copy, { recursive: true });
  editJson(path.join(copy, RECORD_FILE), (j) => (j.fisherCache = null));
  const edited = await uib('verify', copy);
  assert.equal(edited.code, 2);
  assert.match(edited.err, /fisherCache is null but curvature\.source is cache/);
});

test('a cache whose n is not the training set’s size is refused when the prior reads it', async () => {
  const f = await fixture();
  const dir = await copyWith('other-n', (d) =>
    editJson(path.join(d, FISHER_JSON), (j) => (j.n = (j.n as number) + 1)),
  );
  const out = path.join(f.dir, 'out-other-n');
  const r = await uib(
    'unlearn',
    '--checkpoint',
    dir,
    '--scenario',
    f.manifestFile,
    '--method',
    'uib-if',
    '--param',
    'steps=1',
    '--backend',
    'cpu',
    '--quiet',
    '--out',
    out,
  );
  assert.equal(r.code, 2, r.err);
  assert.match(
    r.err,
    /fisher\.json: is a mean over n = 121 samples; .* has 120 .*another training set/,
  );
  assert.ok(!fs.existsSync(out));
});
