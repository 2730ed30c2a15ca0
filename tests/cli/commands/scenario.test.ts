import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { readManifest } from '../../../src/data/scenarios/index.ts';
import { tempDir } from '../../data/helpers.ts';
import { uib } from '../../helpers/cli.ts';

test('uib scenario writes a manifest; show prints counts and draws a PNG grid', async () => {
  const dir = tempDir('cli');
  const file = path.join(dir, 'scenario.json');
  const args = [
    'scenario',
    '--dataset',
    'mnist',
    '--kind',
    'bias',
    '--corruption',
    'stripe',
    '--class',
    '3',
    '--rho',
    '0.9',
    '--seed',
    '1',
    '--train-size',
    '1000',
    '--test-size',
    '200',
    '--out',
    file,
  ];
  const r = await uib(...args);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /wrote .*scenario\.json: bias on mnist, train 1000 \(forget 90, retain 910\), test 200/,
  );
  const m = readManifest(file);
  assert.deepEqual(m.scenario, {
    kind: 'bias',
    corruption: 'stripe',
    biasClass: 3,
    rho: 0.9,
    q: 0.01,
    testFraction: 0.5,
  });
  const again = path.join(dir, 'again.json');
  await uib(...args.slice(0, -1), again);
  assert.equal(fs.readFileSync(again, 'utf8'), fs.readFileSync(file, 'utf8'));

  const png = path.join(dir, 'grid.png');
  const s = await uib('scenario', 'show', file, '--png', png);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /^3 +100 +90 +10 +20 +20$/m);
  assert.match(s.out, /^b\(x\)=1 +99 +90 +9 +- +100$/m);
  assert.match(s.out, /rows forget, retain, test, biased-test/);
  const img = PNG.sync.read(fs.readFileSync(png));
  assert.equal(img.height, 4 + 4 * (84 + 4));
  assert.equal(img.width, 4 + 10 * (84 + 4));
});

test('uib scenario: a bad flag value is one line on stderr, exit code 2, nothing written', async () => {
  const dir = tempDir('cli');
  const file = path.join(dir, 's.json');
  const r = await uib(
    'scenario',
    '--kind',
    'bias',
    '--corruption',
    'fgo',
    '--class',
    '3',
    '--out',
    file,
  );
  assert.equal(r.code, 2);
  assert.equal(
    r.err,
    `uib: --corruption: must be one of brightness, canny_edges, dotted_line, fog, glass_blur, impulse_noise, motion_blur, rotate, scale, shear, shot_noise, spatter, stripe, translate, zigzag, patch; got "fgo"\n`,
  );
  assert.equal(fs.existsSync(file), false);
  const k = await uib(
    'scenario',
    '--kind',
    'class',
    '--class',
    '12',
    '--train-size',
    '500',
    '--out',
    file,
  );
  assert.equal(k.code, 2);
  assert.equal(k.err, 'uib: --class: unknown class 12; mnist has classes 0-9\n');
  const q = await uib('scenario', '--kind', 'random', '--forget-fraction', '1.2', '--out', file);
  assert.equal(q.code, 2);
  assert.match(q.err, /^uib: --forget-fraction: must be a number in \(0, 1\); got "1\.2"\n$/);
  const x = await uib(
    'scenario',
    '--kind',
    'random',
    '--forget-fraction',
    '0.1',
    '--target',
    '1',
    '--out',
    file,
  );
  assert.equal(
    x.err,
    'uib: --target: does not apply to --kind random (it takes --forget-fraction)\n',
  );
  assert.deepEqual(fs.readdirSync(dir), []);
});
