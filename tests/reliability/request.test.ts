/**
 * The deletion record proves what it says about the request: `uib unlearn` refuses a manifest the
 * model was not trained under (another data set, another training set, a model trained without a
 * manifest) with exit 2 before any work, unless the user declares a deletion from another data
 * set (`--other-training-set`), which the record and `uib verify` then state. Another deletion
 * request on the same training set is accepted as such.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { FASHION_MNIST_DIR } from '../../src/data/fashion-mnist.ts';
import { createScenario, writeManifest } from '../../src/data/scenarios/index.ts';
import { RECORD_FILE, readDeletionRecord } from '../../src/unlearn/record.ts';
import { uib } from '../helpers/cli.ts';
import { tempLeftovers } from './cli.ts';
import { type UnlearnFixture, unlearnArgs, unlearnFixture } from './unlearn-fixture.ts';

let ready: Promise<UnlearnFixture> | undefined;
const fixture = () => {
  ready ??= unlearnFixture('request');
  return ready;
};

/** A manifest written beside the fixture's, built from `request`. */
function manifestFile(
  f: UnlearnFixture,
  name: string,
  request: Parameters<typeof createScenario>[0],
) {
  const file = path.join(f.dir, `${name}.json`);
  writeManifest(file, createScenario(request));
  return file;
}

async function refusedWith(
  f: UnlearnFixture,
  manifest: string,
  pattern: RegExp,
  checkpoint = f.checkpoint,
) {
  const out = path.join(f.dir, `out-${path.basename(manifest, '.json')}`);
  const r = await uib(...unlearnArgs({ ...f, checkpoint, manifestFile: manifest }, out));
  assert.equal(r.code, 2, r.err);
  assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
  assert.match(r.err, pattern);
  assert.match(r.err, /--other-training-set/);
  assert.equal(r.out, '', 'nothing ran');
  assert.ok(!fs.existsSync(out));
  assert.deepEqual(tempLeftovers(f.dir), []);
}

test('a Fashion-MNIST manifest for an MNIST model is refused (exit 2), before any work', {
  skip: !fs.existsSync(FASHION_MNIST_DIR) && 'Debian dataset-fashion-mnist is not installed',
}, async () => {
  const f = await fixture();
  const fashion = manifestFile(f, 'fashion', {
    dataset: 'fashion-mnist',
    seed: 3,
    trainSize: 120,
    testSize: 30,
    scenario: { kind: 'random', forgetFraction: 0.2 },
  });
  await refusedWith(
    f,
    fashion,
    /fashion\.json: is a fashion-mnist scenario; the checkpoint was trained on mnist|fashion\.json: its training set .* is not the one/,
  );
});

test('an MNIST manifest of another training set is refused; a model trained without a manifest too', async () => {
  const f = await fixture();
  const other = manifestFile(f, 'other-seed', {
    dataset: 'mnist',
    seed: 4,
    trainSize: 120,
    testSize: 30,
    scenario: { kind: 'random', forgetFraction: 0.2 },
  });
  await refusedWith(
    f,
    other,
    /its training set \([0-9a-f]{12}…\) is not the one the checkpoint was trained on/,
  );
  // A checkpoint that records neither a manifest nor a training set (older uib, bare train).
  const bare = path.join(f.dir, 'bare');
  fs.cpSync(f.checkpoint, bare, { recursive: true });
  const metaFile = path.join(bare, 'metadata.json');
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  delete meta.scenarioHash;
  delete meta.trainSetSha256;
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  await refusedWith(f, f.manifestFile, /records neither this manifest nor its training set/, bare);
});

test('another deletion request on the same training set is accepted and recorded as such', async () => {
  const f = await fixture();
  // Same seed and sizes, another kind: the same training subset, another ΔD.
  const classRequest = manifestFile(f, 'class', {
    dataset: 'mnist',
    seed: 3,
    trainSize: 120,
    testSize: 30,
    scenario: { kind: 'class', forgetClass: 4 },
  });
  const out = path.join(f.dir, 'out-same');
  const r = await uib(...unlearnArgs({ ...f, manifestFile: classRequest }, out));
  assert.equal(r.code, 0, r.err);
  const rec = readDeletionRecord(path.join(out, RECORD_FILE));
  assert.equal(rec.scenario.relation, 'same-training-set');
  assert.equal(rec.scenario.matchesCheckpoint, false);
  const v = await uib('verify', out);
  assert.equal(v.code, 0, v.err);
  assert.match(v.out, /relation +the original was trained on this manifest’s training set/);
});

test('--other-training-set: a declared deletion from another data set is run, recorded and stated by verify', async () => {
  const f = await fixture();
  const other = manifestFile(f, 'declared', {
    dataset: 'mnist',
    seed: 5,
    trainSize: 120,
    testSize: 30,
    scenario: { kind: 'random', forgetFraction: 0.2 },
  });
  const out = path.join(f.dir, 'out-declared');
  const r = await uib(...unlearnArgs({ ...f, manifestFile: other }, out), '--other-training-set');
  assert.equal(r.code, 0, r.err);
  const rec = readDeletionRecord(path.join(out, RECORD_FILE));
  assert.equal(rec.scenario.relation, 'declared-other');
  const v = await uib('verify', out);
  assert.equal(v.code, 0, v.err);
  assert.match(
    v.out,
    /relation +DECLARED: the original was not trained on this manifest’s training set/,
  );
  // The record cannot claim more than that: "trained-under" is recomputed from the original.
  const recordFile = path.join(out, RECORD_FILE);
  const edited = JSON.parse(fs.readFileSync(recordFile, 'utf8'));
  edited.scenario.relation = 'trained-under';
  edited.scenario.matchesCheckpoint = true;
  fs.writeFileSync(recordFile, JSON.stringify(edited));
  const bad = await uib('verify', out);
  assert.equal(bad.code, 2);
  assert.match(
    bad.err,
    /scenario\.relation is "trained-under" but metadata\.json says "declared-other"/,
  );
});
