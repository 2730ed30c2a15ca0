/**
 * Fuzzed readers of what `uib unlearn` leaves behind: the deletion record (`readDeletionRecord`,
 * then every check of `uib verify` over a damaged record) and the F_D cache (`loadFisherCache`:
 * fisher.json structure, fisher.bin bytes). Every case is accepted or refused with a one-line
 * UsageError naming the file; never another exception, a hang or an oversized allocation.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { runVerify } from '../../src/cli/commands/verify.ts';
import { rngFor } from '../../src/core/rng.ts';
import { createScenario, materialiseScenario } from '../../src/data/scenarios/index.ts';
import { buildModel, paramGroups } from '../../src/models/index.ts';
import { RECORD_FILE, readDeletionRecord } from '../../src/unlearn/record.ts';
import {
  FISHER_BIN,
  FISHER_JSON,
  loadFisherCache,
  writeTrainingFisherCache,
} from '../../src/unlearn/uib/fisher-cache.ts';
import { tempDir } from '../data/helpers.ts';
import { uib } from '../helpers/cli.ts';
import {
  applyMutations,
  checkReader,
  checkReaderAsync,
  describeTally,
  FUZZ_SEED,
  fuzzRuns,
  jsonMutationArb,
  mutateJson,
  mutateText,
  mutationArb,
  newTally,
} from './fuzz.ts';
import { unlearnArgs, unlearnFixture } from './unlearn-fixture.ts';

let unlearned: Promise<{ dir: string; out: string }> | undefined;
function fixture() {
  unlearned ??= (async () => {
    const f = await unlearnFixture('fuzz-record');
    const out = path.join(f.dir, 'out');
    const r = await uib(...unlearnArgs(f, out));
    assert.equal(r.code, 0, r.err);
    return { dir: f.dir, out };
  })();
  return unlearned;
}

test('fuzz deletion records: readDeletionRecord, then uib verify, over structural and text damage', async (t) => {
  const { dir, out } = await fixture();
  const text = fs.readFileSync(path.join(out, RECORD_FILE), 'utf8');
  const record = JSON.parse(text);
  const root = tempDir('fuzz-record-cases');
  let k = 0;
  for (const [label, arb] of [
    [
      'json',
      fc
        .array(jsonMutationArb, { minLength: 1, maxLength: 3 })
        .map((m) => JSON.stringify(mutateJson(record, m)) ?? ''),
    ],
    ['text', fc.array(mutationArb, { minLength: 1, maxLength: 3 }).map((m) => mutateText(text, m))],
  ] as const) {
    const tally = newTally();
    const verifyTally = newTally();
    await fc.assert(
      fc.asyncProperty(arb, async (damaged) => {
        const copy = path.join(root, `c${k++}`);
        fs.cpSync(out, copy, { recursive: true });
        const file = path.join(copy, RECORD_FILE);
        fs.writeFileSync(file, damaged);
        checkReader(
          {
            read: () => readDeletionRecord(file),
            names: file,
            inputBytes: Buffer.byteLength(damaged),
            allocPerByte: 64,
            budgetMs: 2000,
          },
          tally,
        );
        // The whole of verify over it: a damaged record may name any file (the original, the
        // manifest, the cache) or a device; verify must still answer in one line.
        await checkReaderAsync(
          {
            read: () => runVerify(copy, {}, () => {}),
            names: '',
            inputBytes: Buffer.byteLength(damaged) + 64 * 1024,
            allocPerByte: 256,
            slackBytes: 8 << 20,
            budgetMs: 4000,
          },
          verifyTally,
        );
        fs.rmSync(copy, { recursive: true, force: true });
      }),
      { numRuns: fuzzRuns(100), seed: FUZZ_SEED },
    );
    assert.ok(tally.refused > 0, JSON.stringify(tally));
    t.diagnostic(describeTally(`record ${label}`, tally));
    t.diagnostic(describeTally(`verify ${label}`, verifyTally));
  }
  assert.equal(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')).length, 0);
});

let cached: Promise<{ ckpt: string; model: LayersModel }> | undefined;
function cacheFixture() {
  cached ??= (async () => {
    const dir = tempDir('fuzz-fisher');
    const s = materialiseScenario(
      createScenario({
        dataset: 'mnist',
        seed: 1,
        trainSize: 60,
        testSize: 20,
        scenario: { kind: 'random', forgetFraction: 0.2 },
      }),
    );
    const model = buildModel({
      arch: 'mlp',
      inputShape: [28, 28, 1],
      numClasses: 10,
      hidden: [4],
      seed: 1,
    });
    const ckpt = path.join(dir, 'ck');
    fs.mkdirSync(ckpt);
    writeTrainingFisherCache(ckpt, model, s.train, { rng: rngFor(1, 'fuzz') });
    return { ckpt, model };
  })();
  return cached;
}

test('fuzz Fisher caches: fisher.json structure and fisher.bin bytes', async (t) => {
  await fixture(); // the backend
  const { ckpt, model } = await cacheFixture();
  const groups = paramGroups(model);
  const index = JSON.parse(fs.readFileSync(path.join(ckpt, FISHER_JSON), 'utf8'));
  const bin = fs.readFileSync(path.join(ckpt, FISHER_BIN));
  const root = tempDir('fuzz-fisher-cases');
  let k = 0;
  for (const [label, arb, file] of [
    [
      'fisher.json',
      fc
        .array(jsonMutationArb, { minLength: 1, maxLength: 3 })
        .map(
          (m) => (d: string) =>
            fs.writeFileSync(path.join(d, FISHER_JSON), JSON.stringify(mutateJson(index, m)) ?? ''),
        ),
      FISHER_JSON,
    ],
    [
      'fisher.bin',
      fc
        .array(mutationArb, { minLength: 1, maxLength: 3 })
        .map(
          (m) => (d: string) => fs.writeFileSync(path.join(d, FISHER_BIN), applyMutations(bin, m)),
        ),
      FISHER_BIN,
    ],
  ] as const) {
    const tally = newTally();
    fc.assert(
      fc.property(arb, (edit) => {
        const d = path.join(root, `c${k++}`);
        fs.cpSync(ckpt, d, { recursive: true });
        edit(d);
        checkReader(
          {
            read: () => loadFisherCache(d, groups, model),
            names: d,
            inputBytes: bin.length + 64 * 1024,
            allocPerByte: 8,
            budgetMs: 2000,
          },
          tally,
        );
        fs.rmSync(d, { recursive: true, force: true });
      }),
      { numRuns: fuzzRuns(150), seed: FUZZ_SEED },
    );
    // Nearly every damaged byte changes fisher.bin's hash: almost all refused, none accepted wrong.
    assert.ok(tally.refused > 0, `${file}: ${JSON.stringify(tally)}`);
    t.diagnostic(describeTally(`fisher cache ${label}`, tally));
  }
});
