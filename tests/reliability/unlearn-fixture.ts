/**
 * A tiny unlearning setup for the deletion-record tests: an 8-unit MLP checkpoint (seeded
 * weights, untrained: verification and interruption do not depend on accuracy) and a random
 * scenario on 120 MNIST images, in a fresh temp directory.
 */
import * as path from 'node:path';
import { initBackend } from '../../src/backend/index.ts';
import { sha256Json } from '../../src/core/hash.ts';
import { createScenario, writeManifest } from '../../src/data/scenarios/index.ts';
import { saveCheckpoint } from '../../src/models/checkpoint.ts';
import { buildModel } from '../../src/models/index.ts';
import { tempDir } from '../data/helpers.ts';

export interface UnlearnFixture {
  dir: string;
  checkpoint: string;
  manifestFile: string;
}

export async function unlearnFixture(tag: string): Promise<UnlearnFixture> {
  await initBackend('cpu');
  const dir = tempDir(tag);
  const manifest = createScenario({
    dataset: 'mnist',
    seed: 3,
    trainSize: 120,
    testSize: 30,
    scenario: { kind: 'random', forgetFraction: 0.2 },
  });
  const manifestFile = path.join(dir, 'scenario.json');
  writeManifest(manifestFile, manifest);
  const model = buildModel({
    arch: 'mlp',
    inputShape: [28, 28, 1],
    numClasses: 10,
    hidden: [8],
    seed: 1,
  });
  const checkpoint = path.join(dir, 'original');
  await saveCheckpoint(checkpoint, model, {
    scenarioHash: sha256Json(manifest),
    trainSetSha256: manifest.inputsHash.train,
  });
  model.dispose();
  return { dir, checkpoint, manifestFile };
}

/** `uib unlearn` arguments for the fixture: FT for one epoch, on the cpu backend, replacing a previous result. */
export const unlearnArgs = (f: UnlearnFixture, out: string, seed = 1): string[] => [
  'unlearn',
  '--checkpoint',
  f.checkpoint,
  '--scenario',
  f.manifestFile,
  '--method',
  'ft',
  '--param',
  'epochs=1',
  '--seed',
  String(seed),
  '--backend',
  'cpu',
  '--quiet',
  '--out',
  out,
  '--force',
];
