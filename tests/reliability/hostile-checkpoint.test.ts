/**
 * Hostile checkpoints: model.json whose weight paths leave the directory (relative, absolute, by
 * symlink), declared shapes that disagree with the bytes (or with the topology), unsupported
 * dtypes, tampered weights, and fuzzed model.json / metadata.json / weights.bin. Each is refused
 * by `loadCheckpoint` with a one-line UsageError naming the file, before any allocation larger
 * than the checkpoint's bytes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { initBackend } from '../../src/backend/index.ts';
import {
  fileHandler,
  loadCheckpoint,
  METADATA_FILE,
  MODEL_FILE,
  saveCheckpoint,
  WEIGHTS_FILE,
} from '../../src/models/checkpoint.ts';
import { buildModel } from '../../src/models/index.ts';
import { tempDir } from '../data/helpers.ts';
import {
  applyMutations,
  checkReaderAsync,
  describeTally,
  FUZZ_SEED,
  fuzzRuns,
  hostileJsonValue,
  jsonMutationArb,
  mutateJson,
  mutationArb,
  newTally,
} from './fuzz.ts';

/** An edited model.json (free-form JSON). */
// biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON under edit
type Json = Record<string, any>;

let base: string | null = null;
async function good(): Promise<string> {
  if (base) return base;
  await initBackend('cpu');
  base = path.join(tempDir('ck-base'), 'ck');
  const m = buildModel({
    arch: 'mlp',
    hidden: [8],
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed: 3,
  });
  await saveCheckpoint(base, m, {});
  m.dispose();
  return base;
}

/** A copy of the good checkpoint with `edit` applied to it. */
async function variant(edit: (dir: string, model: Json) => void): Promise<string> {
  const dir = path.join(tempDir('ck-hostile'), 'ck');
  fs.cpSync(await good(), dir, { recursive: true });
  const model = JSON.parse(fs.readFileSync(path.join(dir, MODEL_FILE), 'utf8'));
  edit(dir, model);
  fs.writeFileSync(path.join(dir, MODEL_FILE), JSON.stringify(model));
  return dir;
}

const bytesOf = (dir: string) =>
  fs
    .readdirSync(dir)
    .reduce(
      (n, f) =>
        n + (fs.lstatSync(path.join(dir, f)).isFile() ? fs.statSync(path.join(dir, f)).size : 0),
      0,
    );

/** loadCheckpoint must refuse `dir` with a UsageError matching `pattern`, within the allocation bound. */
async function refused(dir: string, pattern: RegExp): Promise<void> {
  const tally = newTally();
  let message = '';
  await checkReaderAsync(
    {
      read: async () => {
        try {
          (await loadCheckpoint(dir)).model.dispose();
        } catch (e) {
          message = (e as Error).message;
          throw e;
        }
      },
      names: dir,
      inputBytes: bytesOf(dir),
      allocPerByte: 4,
    },
    tally,
  );
  assert.equal(tally.refused, 1, 'the checkpoint was accepted');
  assert.match(message, pattern);
}

const weights = (m: Json) => m.weightsManifest[0].weights as Json[];

test('the unedited checkpoint loads (so each refusal below is the edit)', async () => {
  const { model } = await loadCheckpoint(await good());
  assert.equal(model.outputs[0].shape[1], 10);
  model.dispose();
});

test('weight paths that leave the directory: relative, absolute, nested, by symlink', async () => {
  for (const p of ['../outside.bin', 'sub/../../outside.bin']) {
    const dir = await variant((d, m) => {
      fs.copyFileSync(path.join(d, WEIGHTS_FILE), path.join(d, '..', 'outside.bin'));
      m.weightsManifest[0].paths = [p];
    });
    await refused(dir, /leaves the checkpoint directory/);
  }
  const abs = await variant((d, m) => {
    fs.copyFileSync(path.join(d, WEIGHTS_FILE), path.join(d, '..', 'outside.bin'));
    m.weightsManifest[0].paths = [path.resolve(d, '..', 'outside.bin')];
  });
  await refused(abs, /leaves the checkpoint directory/);
  // weights.bin itself a symlink to a file outside the directory (same bytes, so only the
  // location is wrong): a reader following it would read whatever the link names.
  const link = await variant((d) => {
    const outside = path.join(d, '..', 'outside.bin');
    fs.renameSync(path.join(d, WEIGHTS_FILE), outside);
    fs.symlinkSync(outside, path.join(d, WEIGHTS_FILE));
  });
  await refused(link, /leaves the checkpoint directory|symlink|symbolic link/);
  // A path naming a device, not a file.
  const dev = await variant((_d, m) => {
    m.weightsManifest[0].paths = ['/dev/zero'];
  });
  await refused(dev, /leaves the checkpoint directory|not a file|missing/);
});

test('declared shapes that disagree with the bytes, or are huge, are refused before allocating', async () => {
  for (const shape of [
    [784, 9],
    [784],
    [2 ** 30, 2 ** 30],
    [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1],
    [-784, -8],
    [784.5, 8],
    ['784', 8],
  ]) {
    const dir = await variant((_d, m) => {
      weights(m)[0].shape = shape;
    });
    await refused(dir, /declares|invalid shape/);
  }
  const truncated = await variant((d) => {
    const b = fs.readFileSync(path.join(d, WEIGHTS_FILE));
    fs.writeFileSync(path.join(d, WEIGHTS_FILE), b.subarray(0, b.length - 4));
  });
  await refused(truncated, /holds \d+ bytes but model\.json declares/);
});

test('unsupported dtypes and quantized weights are refused', async () => {
  for (const edit of [
    { dtype: 'float16' },
    { dtype: 'string' },
    { dtype: 'complex64' },
    { dtype: 'bool' },
    { dtype: undefined },
    { quantization: { dtype: 'uint8', scale: 1, min: 0 } },
  ]) {
    const dir = await variant((_d, m) => {
      Object.assign(weights(m)[1], edit);
    });
    await refused(dir, /unsupported dtype/);
  }
});

test('tampered weights (same size) fail the SHA-256 in metadata.json', async () => {
  const dir = await variant((d) => {
    const b = fs.readFileSync(path.join(d, WEIGHTS_FILE));
    b[100] ^= 1;
    fs.writeFileSync(path.join(d, WEIGHTS_FILE), b);
  });
  await refused(dir, /weights\.bin: SHA-256 differs/);
});

/**
 * model.json's topology is never built: loadCheckpoint builds the model from metadata.json's spec
 * and refuses a topology that disagrees with it. (Handed to tfjs, a Dense layer claiming 10^7
 * units allocated a 31 GB kernel, and a malformed `inbound_nodes` list looped forever.)
 */
test('a topology that disagrees with the spec is refused before tfjs builds it', async () => {
  // dense_1 claims 10^7 units (a 31 GB kernel) while the manifest and the bytes stay small.
  const wide = await variant((_d, m) => {
    m.modelTopology.config.layers.find((l: Json) => l.name === 'dense_1').config.units = 1e7;
  });
  await refused(
    wide,
    /model\.json: modelTopology\.config\.layers\[2\]\.config\.units is 10000000 but the spec in metadata\.json builds 8/,
  );
  // The input layer claims 10^5 x 10^5 images.
  const big = await variant((_d, m) => {
    m.modelTopology.config.layers[0].config.batch_input_shape = [null, 1e5, 1e5, 1];
  });
  await refused(big, /batch_input_shape\[1\] is 100000 but the spec in metadata\.json builds 28/);
  // Graph edges: a layer fed by itself, by a layer that does not exist, by a malformed node.
  for (const inbound of [
    [[['dense_1', 0, 0, {}]]],
    [[['nowhere', 0, 0, {}]]],
    [[['relu_1']]],
    [[]],
    7,
  ]) {
    const dir = await variant((_d, m) => {
      m.modelTopology.config.layers.find((l: Json) => l.name === 'dense_1').inbound_nodes = inbound;
    });
    await refused(dir, /model\.json: modelTopology\.config\.layers\[2\]\.inbound_nodes/);
  }
  // Another architecture's topology over the same weight manifest.
  const swapped = await variant((_d, m) => {
    m.modelTopology.config.layers.splice(3, 1); // drop relu_1
    m.modelTopology.config.layers[3].inbound_nodes = [[['dense_1', 0, 0, {}]]];
  });
  await refused(
    swapped,
    /model\.json: modelTopology\.config\.layers\.length is 4 but the spec in metadata\.json builds 5/,
  );
});

test('a spec that disagrees with the weight manifest is refused before the model is built', async () => {
  // metadata.json claims a 10^7-unit hidden layer: building it would allocate 31 GB.
  const dir = await variant((d) => {
    const f = path.join(d, METADATA_FILE);
    const meta = JSON.parse(fs.readFileSync(f, 'utf8'));
    meta.spec.hidden = [1e7];
    fs.writeFileSync(f, JSON.stringify(meta));
  });
  await refused(
    dir,
    /model\.json: declares 25480 bytes of weights but the spec in metadata\.json \(mlp\) needs 31800000040/,
  );
  // A smaller spec than the manifest: built (it is small), then its weights disagree.
  const small = await variant((d) => {
    const f = path.join(d, METADATA_FILE);
    const meta = JSON.parse(fs.readFileSync(f, 'utf8'));
    meta.spec.hidden = [4];
    fs.writeFileSync(f, JSON.stringify(meta));
  });
  await refused(
    small,
    /model\.json: modelTopology\.config\.layers\[2\]\.config\.units is 8 but the spec in metadata\.json builds 4/,
  );
  // The same topology and spec, but a weight renamed or reshaped in the manifest (same bytes).
  const renamed = await variant((_d, m) => {
    weights(m)[2].name = 'output/kernel_x';
  });
  await refused(renamed, /model\.json: the weight manifest lacks output\/kernel/);
  const reshaped = await variant((_d, m) => {
    weights(m)[2].shape = [10, 8];
  });
  await refused(
    reshaped,
    /model\.json: weight output\/kernel is float32 \[10,8\] but the spec in metadata\.json builds float32 \[8,10\]/,
  );
});

test('tf.loadLayersModel(fileHandler(dir)) gets the same checks and the spec-built topology', async () => {
  const ok = await tfl.loadLayersModel(fileHandler(await good()));
  assert.equal(ok.outputs[0].shape[1], 10);
  ok.dispose();
  const wide = await variant((_d, m) => {
    m.modelTopology.config.layers.find((l: Json) => l.name === 'dense_1').config.units = 1e7;
  });
  const tally = newTally();
  await checkReaderAsync(
    {
      read: async () => (await tfl.loadLayersModel(fileHandler(wide))).dispose(),
      names: wide,
      inputBytes: bytesOf(wide),
      allocPerByte: 4,
    },
    tally,
  );
  assert.equal(tally.refused, 1);
});

/**
 * Damage aimed at the graph: a layer's `inbound_nodes` replaced, or one level of a node entry
 * ([[[source, nodeIndex, tensorIndex, kwargs]]]) replaced; at the deepest level a source layer
 * name makes a cycle or a dangling edge.
 */
const inboundArb = fc
  .tuple(
    fc.nat(),
    fc.oneof(hostileJsonValue, fc.constantFrom('input', 'flatten', 'dense_1', 'relu_1', 'output')),
    fc.nat({ max: 3 }),
  )
  .map(([layer, value, depth]) => (topology: Json) => {
    const layers = topology.config.layers as Json[];
    let parent: unknown = layers[layer % layers.length];
    let key: string | number = 'inbound_nodes';
    for (let d = 0; d < depth; d++) {
      const next = (parent as Json)[key];
      if (!Array.isArray(next) || next.length === 0) break;
      parent = next;
      key = 0;
    }
    (parent as Json)[key] = value;
  });

test('fuzz model.json topology: structure anywhere, and the graph edges', async (t) => {
  const src = await good();
  const model = JSON.parse(fs.readFileSync(path.join(src, MODEL_FILE), 'utf8'));
  const root = tempDir('fuzz-topology');
  let k = 0;
  const cases: [string, fc.Arbitrary<(topology: Json) => unknown>][] = [
    [
      'structure',
      fc
        .array(jsonMutationArb, { minLength: 1, maxLength: 3 })
        .map((m) => (topology: Json) => mutateJson(topology, m)),
    ],
    [
      'inbound_nodes',
      fc.array(inboundArb, { minLength: 1, maxLength: 2 }).map((edits) => (topology: Json) => {
        const copy = structuredClone(topology);
        for (const e of edits) e(copy);
        return copy;
      }),
    ],
  ];
  for (const [label, arb] of cases) {
    const tally = newTally();
    await fc.assert(
      fc.asyncProperty(arb, async (edit) => {
        const dir = path.join(root, `c${k++}`);
        fs.cpSync(src, dir, { recursive: true });
        fs.writeFileSync(
          path.join(dir, MODEL_FILE),
          JSON.stringify({ ...model, modelTopology: edit(model.modelTopology) }),
        );
        await checkReaderAsync(
          {
            read: async () => (await loadCheckpoint(dir)).model.dispose(),
            names: dir,
            inputBytes: bytesOf(dir),
            allocPerByte: 4,
            budgetMs: 2000,
          },
          tally,
        );
        fs.rmSync(dir, { recursive: true });
      }),
      { numRuns: fuzzRuns(100), seed: FUZZ_SEED },
    );
    assert.ok(tally.refused > 0, JSON.stringify(tally));
    t.diagnostic(describeTally(`checkpoint topology ${label}`, tally));
  }
});

test('fuzz checkpoints: model.json and metadata.json mutations, weights.bin damage', async (t) => {
  const src = await good();
  const model = JSON.parse(fs.readFileSync(path.join(src, MODEL_FILE), 'utf8'));
  const meta = JSON.parse(fs.readFileSync(path.join(src, METADATA_FILE), 'utf8'));
  const root = tempDir('fuzz-ck');
  let k = 0;
  const cases: [string, fc.Arbitrary<(dir: string) => void>][] = [
    [
      'model.json',
      // The weight manifest and top-level fields; the topology has its own fuzz test above.
      fc.array(jsonMutationArb, { minLength: 1, maxLength: 3 }).map((m) => (dir: string) => {
        const { modelTopology, ...rest } = model;
        const v = mutateJson(rest, m);
        const out = v && typeof v === 'object' && !Array.isArray(v) ? { modelTopology, ...v } : v;
        fs.writeFileSync(path.join(dir, MODEL_FILE), JSON.stringify(out) ?? '');
      }),
    ],
    [
      'metadata.json',
      fc.array(jsonMutationArb, { minLength: 1, maxLength: 3 }).map((m) => (dir: string) => {
        fs.writeFileSync(path.join(dir, METADATA_FILE), JSON.stringify(mutateJson(meta, m)) ?? '');
      }),
    ],
    [
      'weights.bin',
      fc.array(mutationArb, { minLength: 1, maxLength: 3 }).map((m) => (dir: string) => {
        const f = path.join(dir, WEIGHTS_FILE);
        fs.writeFileSync(f, applyMutations(fs.readFileSync(f), m));
      }),
    ],
  ];
  for (const [label, arb] of cases) {
    const tally = newTally();
    await fc.assert(
      fc.asyncProperty(arb, async (edit) => {
        const dir = path.join(root, `c${k++}`);
        fs.cpSync(src, dir, { recursive: true });
        edit(dir);
        await checkReaderAsync(
          {
            read: async () => (await loadCheckpoint(dir)).model.dispose(),
            names: dir,
            inputBytes: bytesOf(dir),
            allocPerByte: 4,
            budgetMs: 2000,
          },
          tally,
        );
        fs.rmSync(dir, { recursive: true });
      }),
      { numRuns: fuzzRuns(100), seed: FUZZ_SEED },
    );
    assert.ok(tally.refused > 0, JSON.stringify(tally));
    t.diagnostic(describeTally(`checkpoint ${label}`, tally));
  }
});
