/**
 * Hostile input files for every data and experiment reader: a FIFO, a symlink to /dev/zero, a
 * directory and a Unix socket where a file should be are refused at once with a one-line
 * UsageError naming the file (a store record is a miss instead); 200,000-deep JSON and YAML are
 * refused in one line, never with a RangeError; through the CLI, `uib scenario show <fifo>` and
 * `uib run <deep.json>` exit 2 with one line; and a corrupt cached manifest in a run directory is
 * a miss: rebuilt, and the run completes.
 *
 * A blocking open of a FIFO would freeze the whole event loop, timers included, so the hostile
 * entries are read in a child process (this file, run with UIB_HOSTILE_CASES) under a timeout:
 * a hang fails the test instead of hanging the suite.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isUsageError } from '../../src/core/errors.ts';
import { sha256Json } from '../../src/core/hash.ts';
import { MiB, readFileChecked } from '../../src/core/read.ts';
import { loadCifar } from '../../src/data/cifar.ts';
import { readIdxFile } from '../../src/data/idx.ts';
import { createScenario, formatManifest, parseManifest } from '../../src/data/scenarios/index.ts';
import { readManifest, type ScenarioParams } from '../../src/data/scenarios/manifest.ts';
import { CPS_WAGES_SPEC, loadTabularFile } from '../../src/data/tabular-sets.ts';
import { CellSchema } from '../../src/experiments/results-schema.ts';
import { loadExperiment } from '../../src/experiments/schema.ts';
import { RunStore } from '../../src/experiments/store.ts';
import { cifarRecord, tempDir } from '../data/helpers.ts';
import { runUib } from '../helpers/cli.ts';
import { TINY_EXPERIMENT } from './run-dir.ts';

/** Each reader, run on `file` (or the directory `dir` holding it). */
const READERS = {
  readFileChecked: { name: 'f.bin', run: (f: string) => readFileChecked(f, { maxBytes: MiB }) },
  readIdxFile: { name: 'train-images-idx3-ubyte', run: (f: string) => readIdxFile(f) },
  'loadCifar records': {
    name: 'test_batch.bin',
    run: (f: string) => loadCifar('cifar10', 'test', path.dirname(f)),
  },
  'loadCifar names': {
    name: 'batches.meta.txt',
    run: (f: string) => loadCifar('cifar10', 'test', path.dirname(f)),
  },
  loadTabularFile: {
    name: 't.csv',
    run: (f: string) => loadTabularFile(f, CPS_WAGES_SPEC, 'train'),
  },
  readManifest: { name: 'scenario.json', run: (f: string) => readManifest(f) },
  'loadExperiment json': { name: 'exp.json', run: (f: string) => loadExperiment(f) },
  'loadExperiment yaml': { name: 'exp.yaml', run: (f: string) => loadExperiment(f) },
  // A record that cannot be read is a miss (null), not an error: the cell is recomputed.
  'RunStore.readCell': {
    name: path.join('cells', 's', 'seed-1', 'ft.json'),
    run: (f: string) => new RunStore(path.resolve(f, '../../../..')).readCell('s', 1, 'ft'),
  },
  'RunStore.lock': {
    name: '.lock',
    run: (f: string) => new RunStore(path.dirname(f)).lock(),
  },
} as const;
type ReaderId = keyof typeof READERS;

const KINDS = {
  fifo: /FIFO/,
  'symlink to /dev/zero': /character device/,
  directory: /directory/,
  socket: /socket/,
} as const;
type Kind = keyof typeof KINDS;

interface Case {
  id: string;
  reader: ReaderId;
  file: string;
}
interface Outcome {
  id: string;
  ms: number;
  /** 'usage' (a UsageError), 'null', 'value', or the class name of anything else thrown. */
  result: string;
  message?: string;
}

// ─── child: read each hostile file, report one JSON line per case ─────────────────────────────

if (process.env.UIB_HOSTILE_CASES) {
  for (const c of JSON.parse(process.env.UIB_HOSTILE_CASES) as Case[]) {
    process.stdout.write(`START ${c.id}\n`);
    const t0 = performance.now();
    let out: Omit<Outcome, 'id' | 'ms'>;
    try {
      const v = await READERS[c.reader].run(c.file);
      out = { result: v === null ? 'null' : 'value' };
    } catch (e) {
      out = isUsageError(e)
        ? { result: 'usage', message: e.message }
        : { result: (e as Error)?.constructor?.name ?? typeof e, message: String(e) };
    }
    const o: Outcome = { id: c.id, ms: performance.now() - t0, ...out };
    process.stdout.write(`RESULT ${JSON.stringify(o)}\n`);
  }
  process.exit(0);
}

// ─── parent ───────────────────────────────────────────────────────────────────────────────────

const REC10 = Buffer.concat([0, 1].map((i) => cifarRecord(i, [i])));

/** Put the hostile entry `kind` at `file`; a socket's server is returned to be closed later. */
async function makeHostile(file: string, kind: Kind): Promise<net.Server | null> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (kind === 'fifo') execFileSync('mkfifo', [file]);
  else if (kind === 'symlink to /dev/zero') fs.symlinkSync('/dev/zero', file);
  else if (kind === 'directory') fs.mkdirSync(file);
  else {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, resolve);
    });
    return server;
  }
  return null;
}

/** What a reader needs beside the hostile file to get as far as reading it. */
function addCompanions(reader: ReaderId, dir: string): void {
  if (reader === 'loadCifar records') fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), REC10);
  if (reader === 'loadCifar names')
    for (const f of ['data_batch_1.bin', 'test_batch.bin'])
      fs.writeFileSync(path.join(dir, f), REC10);
}

/** Run the cases in a child (this file); a child past `timeoutMs` is killed and the test fails. */
function runChild(cases: Case[], timeoutMs: number): Promise<Outcome[]> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self], {
      env: { ...process.env, UIB_HOSTILE_CASES: JSON.stringify(cases) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      const started = stdout.match(/^START (.*)$/gm)?.at(-1);
      reject(new Error(`reader child hung past ${timeoutMs} ms; last case: ${started}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`reader child exited ${code}: ${stderr}`));
      resolve(
        stdout
          .split('\n')
          .filter((l) => l.startsWith('RESULT '))
          .map((l) => JSON.parse(l.slice(7)) as Outcome),
      );
    });
  });
}

test('a FIFO, /dev/zero, a directory or a socket as an input file: refused at once, naming it', {
  timeout: 60_000,
}, async (t) => {
  const root = tempDir('hostile');
  const cases: Case[] = [];
  const servers: net.Server[] = [];
  for (const reader of Object.keys(READERS) as ReaderId[]) {
    for (const kind of Object.keys(KINDS) as Kind[]) {
      const dir = path.join(root, `${cases.length}`);
      fs.mkdirSync(dir);
      addCompanions(reader, dir);
      const file = path.join(dir, READERS[reader].name);
      const server = await makeHostile(file, kind);
      if (server) servers.push(server);
      cases.push({ id: `${reader} / ${kind}`, reader, file });
    }
  }
  try {
    const outcomes = await runChild(cases, 45_000);
    assert.equal(outcomes.length, cases.length);
    for (const [i, o] of outcomes.entries()) {
      const c = cases[i];
      const kind = c.id.split(' / ')[1] as Kind;
      assert.ok(o.ms < 2000, `${o.id}: took ${o.ms.toFixed(0)} ms`);
      if (c.reader === 'RunStore.readCell') {
        assert.equal(o.result, 'null', `${o.id}: ${o.result} ${o.message ?? ''}`);
        continue;
      }
      assert.equal(o.result, 'usage', `${o.id}: ${o.result} ${o.message ?? ''}`);
      const message = o.message ?? '';
      assert.ok(!/[\r\n]/.test(message), `${o.id}: not one line`);
      assert.ok(
        message.includes(path.basename(c.file)),
        `${o.id}: does not name the file: ${message}`,
      );
      assert.match(message, KINDS[kind], `${o.id}: does not say what it is: ${message}`);
    }
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    t.diagnostic(`${outcomes.length} cases, slowest ${slowest.toFixed(1)} ms`);
  } finally {
    for (const s of servers) s.close();
  }
});

const deepJson = (d: number) => `${'['.repeat(d)}${']'.repeat(d)}`;

/** `fn` throws a one-line UsageError naming `name`, within 2 s. */
function refusedQuickly(fn: () => unknown, name: string): void {
  const t0 = performance.now();
  assert.throws(fn, (e: unknown) => {
    assert.ok(isUsageError(e), `not a UsageError: ${String(e).slice(0, 200)}`);
    assert.ok(!/[\r\n]/.test(e.message), `not one line: ${e.message}`);
    assert.ok(e.message.includes(name), `does not name ${name}: ${e.message}`);
    return true;
  });
  assert.ok(performance.now() - t0 < 2000, `${name}: took over 2 s`);
}

test('200,000-deep JSON and YAML: a one-line UsageError, not a RangeError; a record is a miss', async () => {
  const dir = tempDir('hostile-deep');
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, text);
    return f;
  };
  const deep = deepJson(200_000);
  refusedQuickly(() => readManifest(write('m.json', deep)), 'm.json');
  refusedQuickly(
    () => parseManifest(`{"schemaVersion": 1, "dataset": ${deep}}`, 'text.json'),
    'text.json',
  );
  refusedQuickly(() => loadExperiment(write('e.json', `{"name": ${deep}}`)), 'e.json');
  refusedQuickly(() => loadExperiment(write('flow.yaml', `name: ${deep}\n`)), 'flow.yaml');
  refusedQuickly(
    () => loadExperiment(write('block.yml', `${'- '.repeat(200_000)}x\n`)),
    'block.yml',
  );
  // Under the YAML pre-check but over the depth limit: the exact check refuses it.
  refusedQuickly(() => loadExperiment(write('d65.yaml', `name: ${deepJson(65)}\n`)), 'd65.yaml');
  write(path.join('run', 'cells', 's', 'seed-1', 'ft.json'), deep);
  const store = new RunStore(path.join(dir, 'run'), { warn: () => {} });
  assert.equal(await store.readCell('s', 1, 'ft'), null);
});

/** `uib scenario show <fifo>` and `uib run <deep.json>`: exit 2 with one line. */
async function cliRefusals(): Promise<void> {
  const dir = tempDir('hostile-cli');
  const fifo = path.join(dir, 'pipe.json');
  execFileSync('mkfifo', [fifo]);
  const deep = path.join(dir, 'deep.json');
  fs.writeFileSync(deep, `{"name": "x", "dataset": ${deepJson(200_000)}}`);
  const [show, run] = await Promise.all([
    runUib(['scenario', 'show', fifo], { timeoutMs: 30_000 }),
    runUib(['run', deep, '--out', path.join(dir, 'out')], { timeoutMs: 30_000 }),
  ]);
  for (const [r, name, what] of [
    [show, 'pipe.json', /FIFO/],
    [run, 'deep.json', /nests deeper than 64/],
  ] as const) {
    assert.equal(r.code, 2, r.stderr);
    // tfjs may print its notice on stderr; the error itself is the `uib:` line.
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('uib:'));
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].includes(name), lines[0]);
    assert.match(lines[0], what);
  }
  assert.ok(!fs.existsSync(path.join(dir, 'out')), 'a refused experiment wrote nothing');
}

/** A run directory with a cut, a foreign and a FIFO cached manifest: each a miss, the run completes. */
async function corruptCacheRun(): Promise<void> {
  const dir = tempDir('hostile-cache');
  const exp = {
    ...TINY_EXPERIMENT,
    methods: [{ id: 'ft', params: { epochs: 1 } }],
    seeds: [1, 2, 3],
  };
  const file = path.join(dir, 'exp.json');
  fs.writeFileSync(file, JSON.stringify(exp));
  const out = path.join(dir, 'out');
  // The request each seed's manifest is cached under (runner/scenario.ts cachedManifest).
  const request = (seed: number) => ({
    dataset: 'mnist',
    dataDir: null,
    seed,
    trainSize: exp.dataset.trainSubset,
    testSize: exp.dataset.testSubset,
    scenario: exp.scenarios[0] as ScenarioParams,
  });
  const slot = (seed: number) =>
    path.join(out, 'cache', 'manifests', `${sha256Json(request(seed))}.json`);
  const want = [1, 2, 3].map((seed) => createScenario(request(seed)));
  fs.mkdirSync(path.dirname(slot(1)), { recursive: true });
  // A run directory an interrupted run left: its experiment file, a cut manifest, seed 1's
  // (valid) manifest in seed 2's slot, a FIFO in seed 3's; results.json and a cell as FIFOs.
  fs.writeFileSync(path.join(out, 'experiment.json'), JSON.stringify(exp));
  fs.writeFileSync(slot(1), formatManifest(want[0]).slice(0, 300));
  fs.writeFileSync(slot(2), formatManifest(want[0]));
  execFileSync('mkfifo', [slot(3)]);
  execFileSync('mkfifo', [path.join(out, 'results.json')]);
  const cell = path.join(out, 'cells', 'random-20pct', 'seed-1', 'ft.json');
  fs.mkdirSync(path.dirname(cell), { recursive: true });
  execFileSync('mkfifo', [cell]);

  const r = await runUib(['run', file, '--out', out, '--backend', 'cpu', '--quiet'], {
    timeoutMs: 90_000,
  });
  assert.equal(r.code, 0, r.stderr);
  for (const [i, seed] of [1, 2, 3].entries()) {
    const text = fs.readFileSync(slot(seed), 'utf8');
    const m = parseManifest(text, slot(seed));
    assert.equal(m.seed, seed);
    assert.deepEqual(m, JSON.parse(JSON.stringify(want[i])), `seed ${seed}: rebuilt manifest`);
  }
  assert.ok(fs.statSync(path.join(out, 'results.json')).isFile());
  const stored = CellSchema.parse(JSON.parse(fs.readFileSync(cell, 'utf8')));
  assert.equal(stored.status, 'ok');
}

// The two spawn `uib` (seconds of start-up each): run side by side.
test('through the CLI', { concurrency: true, timeout: 120_000 }, async (t) => {
  await Promise.all([
    t.test(
      '`uib scenario show <fifo>` and `uib run <deep.json>` exit 2 with one line',
      cliRefusals,
    ),
    t.test(
      'uib run: a cut, foreign or FIFO cached manifest is a miss; the run completes',
      corruptCacheRun,
    ),
  ]);
});
