/**
 * Declared needs: SSD's importance over D is computed by the registry from the method's
 * `precompute` (no caller passes it), the same as the state given by hand, and once per model and
 * data.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ssd, ssdTrainingOrder, trainingSetImportance } from '../../src/unlearn/methods/ssd.ts';
import { unlearn } from '../../src/unlearn/registry.ts';
import { fixture, inputsOf } from './fixtures.ts';

const flat = (m: { weights: { read(): { dataSync(): ArrayLike<number> } }[] }) =>
  m.weights.flatMap((w) => Array.from(w.read().dataSync()));

test('SSD runs without anyone passing its importance; the registry makes it once per (θ̂, D_r, ΔD)', async () => {
  const f = await fixture('bias');
  let calls = 0;
  const compute = ssd.precompute!.compute;
  (ssd as { precompute: typeof ssd.precompute }).precompute = {
    key: ssd.precompute!.key,
    compute: (m, d) => {
      calls++;
      return compute(m, d);
    },
  };
  try {
    const a = await unlearn('ssd', inputsOf(f));
    const b = await unlearn('ssd', inputsOf(f), { alpha: 5 });
    const given = trainingSetImportance(
      f.original,
      ssdTrainingOrder(f.scenario.retain, f.scenario.forget),
    );
    const c = await unlearn('ssd', inputsOf(f, { precomputed: given }));
    assert.equal(calls, 1, 'computed once for the two runs on the same model and data');
    assert.deepEqual(flat(c.model), flat(a.model), 'the same as the importance given by hand');
    for (const r of [a, b, c]) r.model.dispose();
  } finally {
    (ssd as { precompute: typeof ssd.precompute }).precompute = {
      key: ssd.precompute!.key,
      compute,
    };
  }
});
