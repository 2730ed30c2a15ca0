import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256 } from '../../../src/core/hash.ts';
import { rngFor } from '../../../src/core/rng.ts';
import {
  applyCorruption,
  CORRUPTIONS,
  type CorruptionName,
  corruptSample,
} from '../../../src/data/corruptions/index.ts';
import { bytesEqual, H, mnistImage, W } from './fixtures.ts';

// corruptSample(name, MNIST train #7, 28, 28, seed 2024, 'train', index 7). A change here means
// every manifest's corrupted-data hash changes too: only update it on purpose.
const SEED = 2024;
const INDEX = 7;
const INPUT_SHA = '711f4f3d22ed05d26d0c7481ea2f5107028d6d9787c51c69c785317205d863cb';
const RECORDED: Record<CorruptionName, string> = {
  brightness: '7fc4aed8b762b771a5975db5ae32e1318478ce2c617319133dcccdfd775515e3',
  canny_edges: '00b9b662eb752e6a98f3d62927472dbfa62242cf8469aeca1dbdd82f3c878177',
  dotted_line: '6c8b4e3b18748887539f14963aa3a3ce5570e73a9af0c08b52df1912da55fa26',
  fog: '611b29728b7b6cea2410f07d6f912169d01af9e76001111f2a783316e85443d8',
  glass_blur: '709f83dd2194969824ee740fcef3c3c8234ceb2f618a68aa9426fd60a5a31a75',
  impulse_noise: 'af99f5655bdd04e4862ea36ec99b4f128779c0d897ecd51c10f14c49092f61b6',
  motion_blur: 'fba32318cd796f0aac7a9f51afbdb419f3712a5601227a41b84f9300ea6119e7',
  rotate: 'd2aec44b22adfd6664882e072dd6ff10557ccb6d4e35f5cb886f8f9845778f2d',
  scale: '7c662ea068432ada258eb2a175795aed37ec34227e49788f3d337525d4fdd0c9',
  shear: '68264012305af8b70b385204d4d659b8bffc7c05f0a46bb502e4daa2dc5fe478',
  shot_noise: '90073c552d2c3c0e6d186b649f9e7f3f85dc7eb227a10d2d20154827196fea79',
  spatter: 'c4bba276b89783d514602fb00145848b0b7b3d856c8816cd3baec1d21f70b56f',
  stripe: '30bd6c690711b6256307afb2392b82d3b379845e0f37995314d3bb2d3075fcdd',
  translate: 'df80a695a1fcd699060db697115be2f946113d1796d9937c13e1b1329231895b',
  zigzag: '2188e2255c643d66934153a5a77aaae1bebebcd7c1a5d720bbe71000e0e4f4c8',
};
const DETERMINISTIC: readonly CorruptionName[] = ['brightness', 'canny_edges', 'scale', 'stripe'];

test('the fixture is MNIST train #7', () => {
  assert.equal(sha256(mnistImage(INDEX)), INPUT_SHA);
});

for (const name of CORRUPTIONS) {
  test(`${name}: recorded bytes for a fixed seed and index, identical on a second call`, () => {
    const img = mnistImage(INDEX);
    const a = corruptSample(name, img, H, W, SEED, 'train', INDEX);
    const b = corruptSample(name, img, H, W, SEED, 'train', INDEX);
    assert.equal(sha256(a), RECORDED[name]);
    assert.ok(bytesEqual(a, b));
    assert.ok(bytesEqual(img, mnistImage(INDEX)), 'input must not be mutated');
    assert.equal(a.length, H * W);
  });

  test(`${name}: other seeds and indices ${DETERMINISTIC.includes(name) ? 'give the same' : 'vary the'} result`, () => {
    const img = mnistImage(INDEX);
    const outs = new Set<string>();
    // Sign-only corruptions (rotate, shear, translate) have 2 or 4 outcomes: look at several keys.
    for (let k = 0; k < 8; k++) outs.add(sha256(corruptSample(name, img, H, W, SEED, 'train', k)));
    for (let s = 0; s < 4; s++) outs.add(sha256(corruptSample(name, img, H, W, s, 'train', INDEX)));
    outs.add(sha256(corruptSample(name, img, H, W, SEED, 'test', INDEX)));
    if (DETERMINISTIC.includes(name)) assert.equal(outs.size, 1);
    else assert.ok(outs.size >= 2, `${name} gave one result for 13 keys`);
  });
}

test('corruptSample is applyCorruption with rngFor(seed, split, index, name): order does not matter', () => {
  const img = mnistImage(3);
  const first = corruptSample('fog', img, H, W, 5, 'train', 11);
  corruptSample('fog', img, H, W, 5, 'train', 12);
  corruptSample('spatter', img, H, W, 5, 'train', 11);
  const again = corruptSample('fog', img, H, W, 5, 'train', 11);
  assert.ok(bytesEqual(first, again));
  const direct = applyCorruption('fog', img, H, W, rngFor(5, 'train', 11, 'fog'));
  assert.ok(bytesEqual(first, direct));
});
