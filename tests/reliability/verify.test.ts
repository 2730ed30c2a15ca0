/**
 * `uib verify`: a good deletion record passes; each tampered file (the unlearned weights, its
 * metadata, the record, the scenario manifest, the original checkpoint) fails naming that file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { runVerify } from '../../src/cli/commands/verify.ts';
import { UsageError } from '../../src/core/errors.ts';
import { sha256Json } from '../../src/core/hash.ts';
import { METADATA_FILE, MODEL_FILE, WEIGHTS_FILE } from '../../src/models/checkpoint.ts';
import { RECORD_FILE } from '../../src/unlearn/record.ts';
import { runUib, uib } from '../helpers/cli.ts';
import { type UnlearnFixture, unlearnArgs, unlearnFixture } from './unlearn-fixture.ts';

/** An edited JSON file (free-form). */
// biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON under edit
type Json = Record<string, any>;

let ready: Promise<UnlearnFixture & { out: string }> | undefined;
function fixture() {
  ready ??= (async () => {
    const f = await unlearnFixture('verify');
    const out = path.join(f.dir, 'unlearned');
    const r = await uib(...unlearnArgs(f, out));
    assert.equal(r.code, 0, r.err);
    return { ...f, out };
  })();
  return ready;
}

/** A copy of the unlearned checkpoint with `edit` applied; verify must name `file(copy)`. */
async function tampered(
  edit: (dir: string, f: UnlearnFixture) => void,
  file: (dir: string, f: UnlearnFixture) => string,
  pattern: RegExp,
  restore?: (f: UnlearnFixture) => void,
): Promise<void> {
  const f = await fixture();
  const dir = fs.mkdtempSync(path.join(f.dir, 'copy-'));
  fs.cpSync(f.out, dir, { recursive: true });
  edit(dir, f);
  try {
    await assert.rejects(
      runVerify(dir, {}, () => {}),
      (e) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.equal(e.where, file(dir, f));
        assert.match(e.message, pattern);
        assert.ok(!e.message.includes('\n'));
        return true;
      },
    );
  } finally {
    restore?.(f);
  }
}

const editJson = (file: string, edit: (v: Json) => void) => {
  const v = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(v);
  fs.writeFileSync(file, JSON.stringify(v, null, 2));
};
const OTHER_SHA = 'ab'.repeat(32);

test('a good deletion record verifies: one line per check, then OK, exit 0', async () => {
  const f = await fixture();
  const r = await uib('verify', f.out);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  assert.deepEqual(
    lines.map((l) => l.split(/\s+/)[0]),
    [
      'weights',
      'model',
      'record',
      'original',
      'manifest',
      'relation',
      'fisher',
      'environment',
      'OK',
    ],
  );
  assert.match(lines[3], /SHA-256 [0-9a-f]{12}… and weight scale match the record/);
  assert.match(lines[5], /trained under this manifest/);
  // The record states what fixes the bits: backend, route, thread count, addon, tfjs.
  assert.match(lines[7], /^environment cpu, 1 thread, addon off, tfjs 4\.22\.0/);
  // A plain trained checkpoint: weights against metadata only.
  const plain = await uib('verify', f.checkpoint);
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.out, /record +none \(a trained checkpoint\).*\nOK\n$/);
});

test('the original moved away: said, not failed', async () => {
  const f = await fixture();
  const aside = `${f.checkpoint}-aside`;
  fs.renameSync(f.checkpoint, aside);
  try {
    const lines: string[] = [];
    await runVerify(f.out, {}, (l) => lines.push(l));
    assert.match(lines.find((l) => l.startsWith('original')) ?? '', /absent, not checked/);
    assert.equal(lines.at(-1), 'OK');
  } finally {
    fs.renameSync(aside, f.checkpoint);
  }
});

test('a flipped byte in weights.bin: exit 2, one line naming weights.bin', async () => {
  await tampered(
    (d) => {
      const w = path.join(d, WEIGHTS_FILE);
      const b = fs.readFileSync(w);
      b[b.length >> 1] ^= 0x10;
      fs.writeFileSync(w, b);
    },
    (d) => path.join(d, WEIGHTS_FILE),
    /SHA-256 [0-9a-f]{12}… no longer matches weightsSha256 in metadata\.json/,
  );
  // Through the CLI: exit 2 and one line on stderr naming the file.
  const f = await fixture();
  const dir = fs.mkdtempSync(path.join(f.dir, 'cli-'));
  fs.cpSync(f.out, dir, { recursive: true });
  const w = path.join(dir, WEIGHTS_FILE);
  const b = fs.readFileSync(w);
  b[7] ^= 1;
  fs.writeFileSync(w, b);
  const r = await uib('verify', dir);
  assert.equal(r.code, 2);
  assert.equal(r.err.trimEnd().split('\n').length, 1);
  assert.ok(r.err.includes(w), r.err);
});

test('an edited deletion record fails naming the record', async () => {
  const record = (d: string) => path.join(d, RECORD_FILE);
  for (const [edit, pattern] of [
    [(r: Json) => (r.original.weightsSha256 = OTHER_SHA), /original\.weightsSha256/],
    [(r: Json) => (r.unlearned.weightsSha256 = OTHER_SHA), /unlearned\.weightsSha256/],
    [(r: Json) => (r.scenario.manifestSha256 = OTHER_SHA), /scenario\.manifestSha256/],
    [(r: Json) => (r.method = 'ga'), /method ga… no longer matches extra\.method/],
    [
      (r: Json) => (r.scenario.matchesCheckpoint = false),
      /scenario\.matchesCheckpoint false contradicts/,
    ],
    // What the record says of the request, against the manifest itself.
    [
      (r: Json) => (r.scenario.counts.forget = 0),
      /scenario\.counts is .*"forget":0.* but scenario\.json says/,
    ],
    [
      (r: Json) => (r.scenario.kind = 'class'),
      /scenario\.kind is "class" but scenario\.json says "random"/,
    ],
    [(r: Json) => (r.scenario.seed += 1), /scenario\.seed is 4 but scenario\.json says 3/],
    [(r: Json) => (r.scenario.relation = 'declared-other'), /contradicts scenario\.relation/],
    [(r: Json) => (r.scenario.trainSetSha256 = OTHER_SHA), /scenario\.trainSetSha256/],
    // A scale edited to hide a divergence: the original's own weights say otherwise.
    [
      (r: Json) => {
        for (const k of Object.keys(r.original.weightScale)) r.original.weightScale[k] *= 1e6;
      },
      /original\.weightScale is .* but weights\.bin says/,
    ],
    [(r: Json) => (r.paramsSha256 = OTHER_SHA), /paramsSha256/],
  ] as const) {
    await tampered((d) => editJson(record(d), edit), record, pattern);
  }
  // A record naming a device as its manifest is refused, not read forever.
  await tampered(
    (d) => editJson(record(d), (r) => (r.scenario.file = '/dev/zero')),
    () => '/dev/zero',
    /not a regular file/,
  );
  // Not valid JSON any more.
  await tampered((d) => fs.appendFileSync(record(d), '}'), record, /not valid JSON/);
});

test('a model.json whose topology no longer matches the spec fails naming model.json', async () => {
  const model = (d: string) => path.join(d, MODEL_FILE);
  await tampered(
    (d) => editJson(model(d), (m) => (m.modelTopology.config.layers[2].config.units = 9)),
    model,
    /units is 9 but the spec in metadata\.json builds 8/,
  );
});

test('edited metadata.json fails naming metadata.json', async () => {
  const meta = (d: string) => path.join(d, METADATA_FILE);
  await tampered(
    (d) => editJson(meta(d), (m) => (m.scenarioHash = OTHER_SHA)),
    meta,
    /scenarioHash/,
  );
  await tampered(
    (d) => editJson(meta(d), (m) => (m.extra.unlearnedFrom = OTHER_SHA)),
    meta,
    /extra\.unlearnedFrom/,
  );
});

test('an edited scenario manifest fails naming the manifest', async () => {
  const f = await fixture();
  const original = fs.readFileSync(f.manifestFile, 'utf8');
  const restore = (x: UnlearnFixture) => fs.writeFileSync(x.manifestFile, original);
  // Another seed: the content hash no longer matches the record and metadata.json.
  await tampered(
    (_d, x) => editJson(x.manifestFile, (m) => (m.seed += 1)),
    (_d, x) => x.manifestFile,
    /manifest hash [0-9a-f]{12}… no longer matches scenario\.manifestSha256 in deletion-record\.json/,
    restore,
  );
  // A sample moved from the retain set into the forget set, out of order: no longer a manifest.
  await tampered(
    (_d, x) =>
      editJson(x.manifestFile, (m) => {
        (m.indices.forget as number[]).push((m.indices.retain as number[]).shift()!);
      }),
    (_d, x) => x.manifestFile,
    /indices/,
    restore,
  );
  // The same content in other bytes: the record's byte hash no longer matches.
  await tampered(
    (_d, x) => fs.writeFileSync(x.manifestFile, JSON.stringify(JSON.parse(original))),
    (_d, x) => x.manifestFile,
    /file SHA-256 .* no longer matches scenario\.fileSha256/,
    restore,
  );
});

test('a changed original checkpoint fails naming its weights.bin', async () => {
  const f = await fixture();
  const w = path.join(f.checkpoint, WEIGHTS_FILE);
  const saved = fs.readFileSync(w);
  await tampered(
    () => {
      const b = Buffer.from(saved);
      b[3] ^= 4;
      fs.writeFileSync(w, b);
    },
    () => w,
    /SHA-256 .* no longer matches original\.weightsSha256 in deletion-record\.json/,
    () => fs.writeFileSync(w, saved),
  );
});

test('metadata.json carries the seed and the params hash; an edit of either in the record fails', async () => {
  const f = await fixture();
  const dir = fs.mkdtempSync(path.join(f.dir, 'params-'));
  fs.cpSync(f.out, dir, { recursive: true });
  const record = JSON.parse(fs.readFileSync(path.join(dir, RECORD_FILE), 'utf8'));
  const meta = JSON.parse(fs.readFileSync(path.join(dir, METADATA_FILE), 'utf8'));
  assert.equal(meta.extra.seed, record.seed);
  assert.equal(meta.extra.paramsSha256, sha256Json(record.params));
  assert.equal(record.paramsSha256, sha256Json(record.params));
  const lines: string[] = [];
  await runVerify(dir, {}, (l) => lines.push(l));
  assert.equal(lines.at(-1), 'OK');
  for (const [edit, pattern] of [
    [(r: Json) => (r.params.epochs = 3), /params hash .* no longer matches paramsSha256/],
    [(r: Json) => (r.seed = 9), /seed 9… no longer matches extra\.seed/],
  ] as const) {
    const copy = fs.mkdtempSync(path.join(f.dir, 'params-'));
    fs.cpSync(dir, copy, { recursive: true });
    editJson(path.join(copy, RECORD_FILE), edit);
    await assert.rejects(
      runVerify(copy, {}, () => {}),
      (e) => {
        assert.ok(e instanceof UsageError);
        assert.equal(e.where, path.join(copy, RECORD_FILE));
        assert.match(e.message, pattern);
        return true;
      },
    );
  }
});

test('hostile checkpoint and record files: a FIFO as metadata.json or model.json, 200,000-deep JSON — one line, exit 2, no hang', {
  timeout: 120_000,
}, async () => {
  const f = await fixture();
  const copyOf = (name: string) => {
    const d = fs.mkdtempSync(path.join(f.dir, `${name}-`));
    fs.cpSync(f.out, d, { recursive: true });
    return d;
  };
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const cases: [string, (d: string) => void, RegExp][] = [
    ['fifo-meta', (d) => fifo(path.join(d, METADATA_FILE)), /metadata\.json: is a FIFO/],
    ['fifo-model', (d) => fifo(path.join(d, MODEL_FILE)), /model\.json: is a FIFO/],
    [
      'deep-topology',
      (d) =>
        editJsonText(path.join(d, MODEL_FILE), (text) =>
          text.replace('"modelTopology":', `"modelTopology": {"deep": ${deep(200_000)}}, "x":`),
        ),
      /model\.json: nests deeper than 64 levels/,
    ],
    [
      'deep-record',
      (d) =>
        editJsonText(path.join(d, RECORD_FILE), (text) =>
          text.replace('"details":', `"deep": ${deep(200_000)}, "details":`),
        ),
      /deletion-record\.json: nests deeper than 64 levels/,
    ],
  ];
  for (const [name, edit, pattern] of cases) {
    const d = copyOf(name);
    edit(d);
    // A child with a time limit: a reader that blocked on a FIFO would hang this process.
    const r = await runUib(['verify', d], { timeoutMs: 30_000 });
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  }
});

function fifo(file: string) {
  fs.rmSync(file);
  execFileSync('mkfifo', [file]);
}

function editJsonText(file: string, edit: (text: string) => string) {
  fs.writeFileSync(file, edit(fs.readFileSync(file, 'utf8')));
}
