import assert from 'node:assert/strict';
import { test } from 'node:test';
import { METRIC_IDS } from '../../../src/eval/registry.ts';
import { uib } from '../../helpers/cli.ts';

test('uib metrics lists every metric; --json gives the same as data', async () => {
  const text = await uib('metrics');
  assert.equal(text.code, 0, text.err);
  for (const id of METRIC_IDS) assert.match(text.out, new RegExp(`^${id} `, 'm'));
  assert.match(text.out, /^tow +↑ +ratio +\[0, 1\] +tug of war/m);
  const json = await uib('metrics', '--json');
  assert.equal(json.code, 0, json.err);
  const rows = JSON.parse(json.out) as { id: string; direction: string; needs: string[] }[];
  assert.deepEqual(
    rows.map((r) => r.id),
    [...METRIC_IDS],
  );
  assert.deepEqual(rows.find((r) => r.id === 'tow')?.needs, ['retrain']);
  assert.equal(rows.find((r) => r.id === 'ua')?.direction, 'match-retrain');
});
