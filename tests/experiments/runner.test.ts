/**
 * The runner end to end on a tiny experiment (MLP, Retrain + FT, 2 seeds, 600 MNIST images, one
 * epoch), through the real `uib run` command in a child process: results and reports are written;
 * a run killed with SIGKILL mid-way resumes without redoing finished cells; a changed method
 * parameter recomputes only that method; a directory in use by a live run is refused.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseResults } from '../../src/experiments/results-schema.ts';
import { ensembleMean } from '../../src/experiments/runner/references.ts';
import { runUibSync } from '../helpers/cli.ts';
import { TINY_EXPERIMENT } from '../helpers/tiny-experiment.ts';

const UIB = path.resolve('bin/uib.js');

const TINY = TINY_EXPERIMENT;

function setup(experiment: unknown = TINY) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-run-'));
  const file = path.join(dir, 'tiny.json');
  fs.writeFileSync(file, JSON.stringify(experiment));
  return { dir, file, out: path.join(dir, 'out') };
}

const runSync = (args: string[]) => runUibSync(args, { UIB_BACKEND: 'cpu' });

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? [p, ...walk(p)] : [p];
  });
}

function cellFile(out: string, seed: number, method: string) {
  return path.join(out, 'cells', 'bias-stripe-3', `seed-${seed}`, `${method}.json`);
}

test('uib run: killed with SIGKILL mid-way, a rerun resumes without redoing finished cells', async () => {
  const { dir, file, out } = setup();
  try {
    // 1. Start a run and kill it as soon as its first method cell (seed 1, ft) is on disk.
    const first = cellFile(out, 1, 'ft');
    const child = spawn(process.execPath, [UIB, 'run', file, '--out', out, '--quiet'], {
      env: { ...process.env, UIB_BACKEND: 'cpu' },
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    const deadline = Date.now() + 90_000;
    while (!fs.existsSync(first)) {
      if (Date.now() > deadline) throw new Error('the run never wrote its first cell');
      if (child.exitCode !== null) throw new Error(`the run exited early (${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.ok(!fs.existsSync(path.join(out, 'results.json')), 'killed before the run finished');
    assert.ok(!fs.existsSync(cellFile(out, 2, 'ft')), 'seed 2 was still to do');
    const before = JSON.parse(fs.readFileSync(first, 'utf8'));
    // A temp file as a writer killed mid-write leaves it: never a result, cleaned on resume.
    const stale = path.join(path.dirname(first), '.ft.json.tmp-99999-deadbeef');
    fs.writeFileSync(stale, '{"half": ');

    // 2. Rerun: the finished cell is reused as it was; the rest is computed.
    const r = runSync(['run', file, '--out', out, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\((\d+) finished unit\(s\) found .* and reused\)/);
    const reused = Number(/\((\d+) finished unit/.exec(r.stdout)?.[1]);
    assert.ok(reused >= 3, `seed 1's Retrain, original and ft were reused (${reused})`);
    assert.ok(reused < 6, 'seed 2 was computed');
    const after = JSON.parse(fs.readFileSync(first, 'utf8'));
    assert.equal(after.finishedAt, before.finishedAt, 'the finished cell was not redone');
    assert.deepEqual(after.metrics, before.metrics);
    assert.ok(!fs.existsSync(stale), 'stale temp file removed');
    assert.deepEqual(
      walk(out).filter((p) => /\.tmp-|\.lock$/.test(path.basename(p))),
      [],
      'no temp or lock file left',
    );

    // 3. The results: complete, one cell per (seed, method), references for both seeds.
    const results = parseResults(
      JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')),
      'results.json',
    );
    assert.equal(results.complete, true);
    assert.deepEqual(
      results.cells.map((c) => [c.seed, c.method, c.status]),
      [
        [1, 'ft', 'ok'],
        [2, 'ft', 'ok'],
      ],
    );
    // Per seed: the original and a Retrain ensemble of 3 (the default), each member with its own
    // initial weights and data order, none of them the original's.
    assert.equal(results.references.length, 8);
    for (const seed of [1, 2]) {
      const members = results.references.filter((x) => x.seed === seed && x.role === 'retrain');
      assert.deepEqual(
        members.map((m) => m.member),
        [0, 1, 2],
      );
      const modelSeeds = members.map((m) => m.modelSeed);
      assert.equal(new Set(modelSeeds).size, 3, 'each member its own initialisation');
      assert.ok(!modelSeeds.includes(seed), "no member starts from the original's weights");
      // Members k > 0 are measured against member 0: the ensemble's own distance spread.
      assert.ok(members[1].metrics.values['js-test'].value! > 0);
      assert.equal(members[0].metrics.values['js-test'], undefined);
    }
    for (const c of results.cells) {
      const v = c.metrics!.values;
      for (const id of ['ua', 'ra', 'ta', 'mia-efficacy', 'js-test', 'avg-gap', 'time-ms'])
        assert.ok(id in v, `${id} recorded`);
      assert.ok(v.ra.value! > 0.3, 'the tiny MLP learnt something');
      const members = results.references.filter((x) => x.seed === c.seed && x.role === 'retrain');
      // speed-up = T_retrain / T_unlearn, T_retrain the ensemble's mean time on the same seed.
      const tRetrain = members.reduce((a, m) => a + m.cost.timeMs, 0) / members.length;
      assert.ok(Math.abs(c.cost!.speedUp! - tRetrain / c.cost!.timeMs) < 1e-9);
      // The target beside the method's values: the ensemble's mean, per metric.
      assert.deepEqual(c.retrain, ensembleMean(members.map((m) => m.metrics)));
      const ua = members.map((m) => m.metrics.values.ua.value!);
      assert.ok(Math.abs(c.retrain.ua.value! - (ua[0] + ua[1] + ua[2]) / 3) < 1e-12);
      assert.ok(c.cost!.gradEvals > 0);
    }
    const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
    const firstRow = md.split('\n').find((l) => l.startsWith('| ') && !l.startsWith('| method'));
    assert.match(firstRow ?? '', /^\| retrain \(target\)/);
    assert.match(r.stdout, /^retrain \(target\)/m, 'the terminal table lists Retrain first');
    // Each method read against the ensemble: mean z per metric and seeds inside its band.
    assert.match(md, /### Against the Retrain ensemble \(3 retrained models per seed\)/);
    assert.match(md, /\| ft \| (—|[+−]\d+\.\d) \(\d\/2\) \|.* \| \d+ % \(\d+\/\d+\) \|/);
    assert.match(r.stdout, /against the Retrain ensemble \(3 per seed\)/);
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.ok((html.match(/<svg/g) ?? []).length >= 5, 'plots in the report');
    assert.ok((html.match(/data:image\/png;base64/g) ?? []).length === 4, 'forget examples');

    // 4. A changed FT parameter: only the FT cells are recomputed, the trained models reused.
    // SSD, added, runs too: the runner gives it F_D (the training set's Fisher at θ̂).
    fs.writeFileSync(
      file,
      JSON.stringify({
        ...TINY,
        methods: [{ id: 'retrain' }, { id: 'ft', params: { epochs: 1, lr: 0.02 } }, { id: 'ssd' }],
      }),
    );
    const r2 = runSync(['run', file, '--out', out, '--quiet']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /\(8 finished unit\(s\)/);
    const changed = JSON.parse(fs.readFileSync(first, 'utf8'));
    assert.notEqual(changed.key, before.key);
    assert.equal(changed.params.lr, 0.02);
    for (const seed of [1, 2]) {
      const ssd = JSON.parse(fs.readFileSync(cellFile(out, seed, 'ssd'), 'utf8'));
      assert.equal(ssd.status, 'ok', ssd.error);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('uib run: a directory held by a live run is refused; bad experiment files name the field', () => {
  const { dir, file, out } = setup();
  try {
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, '.lock'), String(process.pid)); // this test process: alive
    const r = runSync(['run', file, '--out', out, '--quiet']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is in use by another uib run \(pid \d+\)/);

    fs.writeFileSync(file, JSON.stringify({ ...TINY, seeds: [1, 'two'] }));
    const bad = runSync(['run', file, '--out', out]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line');
    assert.match(bad.stderr, /tiny\.json: seeds\[1\]: must be a number; got "two"/);

    fs.writeFileSync(
      file,
      JSON.stringify({ ...TINY, methods: [{ id: 'ft', params: { epochs: -1 } }] }),
    );
    const badParam = runSync(['run', file, '--out', out]);
    assert.equal(badParam.code, 2);
    assert.match(badParam.stderr, /tiny\.json: methods\[0\]\.params\.epochs: must be/);

    fs.writeFileSync(file, JSON.stringify({ ...TINY, methods: [{ id: 'no-such' }] }));
    const badId = runSync(['run', file, '--out', out]);
    assert.equal(badId.code, 2);
    assert.match(
      badId.stderr,
      /tiny\.json: methods\[0\]\.id: unknown method "no-such"; must be one of/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runExperiment in-process: every model and tensor it made is freed', async () => {
  const tf = await import('@tensorflow/tfjs-core');
  const { initBackend } = await import('../../src/backend/index.ts');
  const { runExperiment } = await import('../../src/experiments/runner.ts');
  const { parseExperiment } = await import('../../src/experiments/schema.ts');
  await initBackend('cpu');
  const { dir, out } = setup();
  try {
    const exp = parseExperiment({ ...TINY, seeds: [1] }, 'tiny');
    const before = tf.memory().numTensors;
    const outcome = await runExperiment(exp, { outDir: out, backend: 'cpu', quiet: true });
    assert.equal(outcome.results.cells.length, 1);
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind by a run');
    const again = await runExperiment(exp, { outDir: out, backend: 'cpu', quiet: true });
    assert.equal(again.computed, 0, 'a finished run is found done');
    assert.equal(again.skipped, 5, 'the original, 3 Retrain members and the method');
    assert.equal(tf.memory().numTensors, before);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
