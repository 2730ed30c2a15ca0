/**
 * Wall time of a 16-cell sweep (4 methods × 4 seeds, MLP on MNIST, one Retrain per seed) with
 * `uib run --workers 1` (in one process, the native addon on every core) and `--workers 2` (two
 * worker processes, UIB_THREADS=1 each), rounds alternating so that other load on the machine
 * biases neither. Each run is a fresh `uib run` child on a fresh --out; the two routes' metric
 * values are checked equal. Not a test:
 * `node --import tsx bench/sweep-workers.ts [--rounds 2] [--train 8000] [--epochs 6]`.
 * Prints one JSON document, then a Markdown table.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { metricContent } from '../tests/experiments/scale-out/compare.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    train: { type: 'string', default: '8000' },
    epochs: { type: 'string', default: '6' },
  },
});
const rounds = Number(values.rounds);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const bin = path.join(root, 'bin', 'uib.js');

const sweep = {
  name: 'sweep-16',
  dataset: { name: 'mnist', trainSubset: Number(values.train), testSubset: 1000 },
  model: { arch: 'mlp', hidden: [128, 64] },
  training: {
    optimizer: { name: 'adam', lr: 0.003 },
    epochs: Number(values.epochs),
    batchSize: 32,
  },
  scenarios: [
    { kind: 'bias', corruption: 'stripe', biasClass: 3, rho: 0.9, q: 0.02, testFraction: 0.5 },
  ],
  methods: [
    { id: 'retrain' },
    { id: 'ft', params: { epochs: 2 } },
    { id: 'neg-grad-plus', params: { epochs: 2 } },
    { id: 'rl', params: { epochs: 2 } },
    { id: 'l1-sparse', params: { epochs: 2 } },
  ],
  seeds: [1, 2, 3, 4],
  options: { exampleImages: 0, evalBatchSize: 500, retrainSeeds: 1 },
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-sweep-'));
const file = path.join(dir, 'sweep.json');
fs.writeFileSync(file, JSON.stringify(sweep));

function run(workers: number, round: number): { wallS: number; out: string } {
  const out = path.join(dir, `w${workers}-r${round}`);
  const env = { ...process.env };
  delete env.UIB_THREADS; // --workers 1: every core; the pool sets 1 thread per worker itself
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [bin, 'run', file, '--out', out, '--quiet', '--workers', String(workers)],
    { cwd: root, env, encoding: 'utf8' },
  );
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`--workers ${workers} exited ${r.status}: ${r.stderr}`);
  return { wallS, out };
}

const loadBefore = os.loadavg()[0];
const results: { round: number; workers1S: number; workers2S: number; ratio: number }[] = [];
let same = true;
try {
  for (let round = 1; round <= rounds; round++) {
    // Alternate which route goes first, so a change in the machine's load hits both.
    const order = round % 2 === 1 ? [1, 2] : [2, 1];
    const t: Record<number, { wallS: number; out: string }> = {};
    for (const w of order) t[w] = run(w, round);
    same &&= isDeepStrictEqual(metricContent(t[1].out), metricContent(t[2].out));
    results.push({
      round,
      workers1S: t[1].wallS,
      workers2S: t[2].wallS,
      ratio: t[2].wallS / t[1].wallS,
    });
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

const report = {
  bench: 'sweep-workers',
  cells: 16,
  jobs: 4 * (3 + 1 + 4),
  experiment: sweep,
  cpus: os.availableParallelism(),
  loadAverage1m: { before: loadBefore, after: os.loadavg()[0] },
  sameMetricValues: same,
  rounds: results,
  medianRatio: results.map((r) => r.ratio).sort((a, b) => a - b)[Math.floor(results.length / 2)],
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n`);
process.stdout.write(
  [
    '| round | --workers 1 (s) | --workers 2 (s) | ratio |',
    '| --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.round} | ${r.workers1S.toFixed(1)} | ${r.workers2S.toFixed(1)} | ${r.ratio.toFixed(2)} |`,
    ),
    '',
    `same metric values on both routes: ${same ? 'yes' : 'NO'}; 1-minute load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after, on ${os.availableParallelism()} cores`,
    '',
  ].join('\n'),
);
