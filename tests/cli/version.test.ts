import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { computeEnvironment, describeEnvironment } from '../../src/backend/environment.ts';
import { ROOT, uib } from '../helpers/cli.ts';

const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
};

test("uib --version prints package.json's version and starts no backend", async () => {
  const r = await uib('--version');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), version);
});

test('uib --version --verbose names the compute route in use (backend, kernels, threads)', async () => {
  const r = await uib('--version', '--verbose');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.equal(lines[0], `uib ${version}`);
  // The route line is the one every result's environment block describes.
  assert.ok(
    lines[1].startsWith(`route: ${describeEnvironment(computeEnvironment())}`),
    `got "${lines[1]}"`,
  );
  assert.match(lines[2], /^tfjs \d+\.\d+\.\d+, node \d+/);
});
