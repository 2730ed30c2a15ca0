import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/core/errors.ts';
import { datasetFromArrays } from '../../src/data/dataset.ts';

test('datasetFromArrays: a view over the caller’s arrays; bytes scaled by 1/255, floats as they are', () => {
  const d = datasetFromArrays({
    x: new Uint8Array([0, 255, 51, 102]),
    y: [1, 0],
    sampleShape: [2],
    numClasses: 2,
    name: 'mine',
  });
  assert.equal(d.length, 2);
  assert.equal(d.name, 'mine');
  assert.deepEqual(Array.from(d.labels()), [1, 0]);
  const gx = Array.from(d.gather([0, 1]).x);
  for (const [i, v] of [0, 1, 0.2, 0.4].entries())
    assert.ok(Math.abs(gx[i] - v) < 1e-6, `${gx[i]} ≠ ${v}`);
  const f = datasetFromArrays({
    x: new Float32Array([3, -1]),
    y: [0, 1],
    sampleShape: [1],
    numClasses: 2,
  });
  assert.deepEqual(Array.from(f.gather([0, 1]).x), [3, -1]);
});

test('datasetFromArrays: sizes, labels and names are checked, naming the field', () => {
  const bad = (args: Parameters<typeof datasetFromArrays>[0], pattern: RegExp) =>
    assert.throws(
      () => datasetFromArrays(args),
      (e) => e instanceof UsageError && pattern.test(e.message),
    );
  const x = new Float32Array(4);
  bad(
    { x, y: [0, 1, 0], sampleShape: [2], numClasses: 2 },
    /data\.x: holds 4 values; 3 labels × 2 per sample need 6/,
  );
  bad(
    { x, y: [0, 2], sampleShape: [2], numClasses: 2 },
    /data\.y: label 1 is 2; labels are integers in \[0, 2\)/,
  );
  bad({ x, y: [0, 0.5], sampleShape: [2], numClasses: 2 }, /data\.y: label 1 is 0\.5/);
  bad(
    { x, y: [0, 1], sampleShape: [0, 2], numClasses: 2 },
    /sampleShape: must be positive integers/,
  );
  bad({ x, y: [0, 1], sampleShape: [2], numClasses: 1 }, /numClasses: must be an integer ≥ 2/);
  bad(
    { x, y: [0, 1], sampleShape: [2], numClasses: 2, classNames: ['a'] },
    /classNames: has 1 names for 2 classes/,
  );
});
