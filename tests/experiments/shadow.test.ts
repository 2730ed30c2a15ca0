/**
 * Shadow runs for the privacy metrics: the design (each sample in exactly half of the shadows,
 * F_s = ΔD ∩ D_s, targets from ΔD), and a tiny experiment end to end — the metrics come out,
 * the shadows are cached and a rerun reuses them.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initBackend } from '../../src/backend/index.ts';
import { createScenario, materialiseScenario } from '../../src/data/scenarios/index.ts';
import { runExperiment } from '../../src/experiments/runner.ts';
import { parseExperiment } from '../../src/experiments/schema.ts';
import { shadowDesign } from '../../src/experiments/shadow.ts';
import { tempDir } from '../data/helpers.ts';
import { TINY_EXPERIMENT } from '../reliability/run-dir.ts';

test('shadow design: every sample in exactly half the shadows; F_s = ΔD ∩ D_s; targets ⊆ ΔD', () => {
  const data = materialiseScenario(
    createScenario({
      dataset: 'mnist',
      seed: 2,
      trainSize: 60,
      testSize: 20,
      scenario: { kind: 'random', forgetFraction: 0.25 },
    }),
  );
  const d = shadowDesign(data, { models: 6, targets: 5 }, 1, 'k');
  assert.equal(d.shadows.length, 6);
  const forget = new Set(Array.from({ length: data.forget.length }, (_, i) => data.forget.at(i)));
  const count = new Map<number, number>();
  for (const s of d.shadows) {
    for (let i = 0; i < s.train.length; i++)
      count.set(s.train.at(i), (count.get(s.train.at(i)) ?? 0) + 1);
    assert.equal(s.forget.length + s.retain.length, s.train.length);
    for (let i = 0; i < s.forget.length; i++) assert.ok(forget.has(s.forget.at(i)));
    for (let i = 0; i < s.retain.length; i++) assert.ok(!forget.has(s.retain.at(i)));
  }
  assert.equal(count.size, data.train.length);
  for (const c of count.values()) assert.equal(c, 3, 'each sample in N/2 = 3 shadows');
  assert.equal(d.targets.length, 5);
  for (let j = 0; j < d.targets.length; j++) {
    assert.ok(forget.has(d.targets.at(j)));
    // members[j] says whether the shadow trained on target j.
    const t = d.targets.at(j);
    for (const s of d.shadows) {
      const trained = Array.from({ length: s.train.length }, (_, i) => s.train.at(i)).includes(t);
      assert.equal(s.members[j], trained);
    }
  }
  // Seeded: the same design again, another with another seed.
  const again = shadowDesign(data, { models: 6, targets: 5 }, 1, 'k');
  assert.deepEqual(
    again.shadows.map((s) => s.members),
    d.shadows.map((s) => s.members),
  );
  assert.notEqual(shadowDesign(data, { models: 6, targets: 5 }, 2, 'k').key, d.key);
});

test('an experiment with shadow models reports U-LiRA, the challenge F and score, KLoM; a rerun reuses the shadows', {
  timeout: 240_000,
}, async () => {
  await initBackend('cpu');
  const dir = tempDir('shadow-run');
  const exp = parseExperiment(
    {
      ...TINY_EXPERIMENT,
      name: 'shadow-tiny',
      seeds: [1],
      methods: [{ id: 'ft', params: { epochs: 1 } }],
      options: {
        metrics: ['ua', 'ta'],
        exampleImages: 0,
        retrainSeeds: 2,
        shadowModels: 6,
        shadowTargets: 8,
      },
    },
    'shadow-tiny',
  );
  const out = path.join(dir, 'out');
  const first = await runExperiment(exp, { outDir: out, backend: 'cpu', quiet: true });
  const cell = first.results.cells[0];
  assert.equal(cell.status, 'ok', cell.error);
  const v = cell.metrics!.values;
  for (const id of ['u-lira', 'challenge-f', 'challenge-score', 'klom'])
    assert.ok(
      v[id] && v[id].value !== null && Number.isFinite(v[id].value),
      `${id}: ${JSON.stringify(v[id])}`,
    );
  assert.ok(v['u-lira'].value! >= 0 && v['u-lira'].value! <= 1);
  assert.ok(v['challenge-f'].value! > 0 && v['challenge-f'].value! <= 1);
  assert.ok(v.klom.value! >= 0);
  assert.equal((cell.metrics!.notes['u-lira'] as { shadows: number }).shadows, 6);
  // The shadows are cached: originals as checkpoints, statistics as JSON.
  const shadowDir = path.join(out, 'cache', 'shadow');
  const [design] = fs.readdirSync(shadowDir);
  assert.equal(
    fs.readdirSync(path.join(shadowDir, design)).filter((f) => f.startsWith('retrained-')).length,
    6,
  );
  // A rerun finds everything done; a new method reuses the shared shadows.
  const again = await runExperiment(exp, { outDir: out, backend: 'cpu', quiet: true });
  assert.equal(again.computed, 0);
  assert.deepEqual(again.results.cells[0].metrics!.values, v);
});
