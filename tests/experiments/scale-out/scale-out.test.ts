/**
 * Issue 20: the runner's cells as jobs, on a local pool (`--workers 2`) and on BullMQ over a
 * Redis the test starts (`--queue` with two `uib worker` processes). A tiny experiment — Retrain,
 * FT and GA × 2 seeds × a 2-model Retrain ensemble, an MLP on 1,000 MNIST images — gives the
 * same metric values (all but time and speed-up) on every route; a worker SIGKILLed in a job
 * loses nothing; bad input fails the run at once with exit 2; a restarted coordinator reuses what
 * is finished; Redis down is one line and exit 2.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, runUib } from '../../helpers/cli.ts';
import { freePort, redisMissing, startRedis, type TestRedis } from '../../helpers/redis.ts';
import { TINY_EXPERIMENT } from '../../helpers/tiny-experiment.ts';
import { metricContent } from './compare.ts';

const BIN = path.join(ROOT, 'bin', 'uib.js');

const TINY = {
  ...TINY_EXPERIMENT,
  dataset: { name: 'mnist', trainSubset: 1000, testSubset: 300 },
  // Three epochs: a training job lasts long enough (~0.5 s) to be killed while it runs.
  training: { optimizer: { name: 'adam', lr: 0.003 }, epochs: 3, batchSize: 32 },
  methods: [
    { id: 'retrain' },
    { id: 'ft', params: { epochs: 1 } },
    { id: 'ga', params: { epochs: 1 } },
  ],
  options: { exampleImages: 2, evalBatchSize: 300, retrainSeeds: 2 },
};

/** Short locks and stall checks, so a killed worker's job is back in the queue in ~3-4 s (the lock
 * is renewed every 1.5 s; the training loop lets the timer run: core/yield.ts). */
const QUEUE_ENV = {
  UIB_QUEUE_LOCK_MS: '3000',
  UIB_QUEUE_STALLED_MS: '500',
  UIB_QUEUE_POLL_MS: '100',
  UIB_QUEUE_BACKOFF_MS: '200',
};

const skip = redisMissing();
let dir: string;
let file: string;
let redis: TestRedis | undefined;
/** The in-process run everything is compared with. */
let baseline: ReturnType<typeof metricContent>;

interface Worker {
  child: ChildProcess;
  log: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(store: string): Worker {
  const child = spawn(process.execPath, [BIN, 'worker', '--queue', redis!.url, '--store', store], {
    cwd: ROOT,
    env: { ...process.env, ...QUEUE_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, log: () => out, exited };
}

async function waitFor(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
  for (const w of workers) {
    const r = await w.exited;
    if (r.signal !== 'SIGKILL') {
      assert.equal(r.code, 0, `a worker stops cleanly on SIGTERM:\n${w.log()}`);
      assert.match(w.log(), /stopped after \d+ job\(s\)/);
    }
  }
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-scale-'));
  file = path.join(dir, 'tiny.json');
  fs.writeFileSync(file, JSON.stringify(TINY));
  const r = await runUib(['run', file, '--out', path.join(dir, 'w1'), '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  baseline = metricContent(path.join(dir, 'w1'));
  assert.equal(baseline.complete, true);
  assert.equal(baseline.cells.length, 4, '2 methods × 2 seeds');
  assert.equal(baseline.references.length, 6, '(original + 2 Retrain) × 2 seeds');
  if (!skip) redis = await startRedis();
});

after(async () => {
  await redis?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--workers 2: the same metric values as --workers 1', async () => {
  const out = path.join(dir, 'w2');
  const r = await runUib(['run', file, '--out', out, '--workers', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\[14\/14\] .*done 14\/14 · running 0 · failed 0/, 'progress by job');
  assert.deepEqual(metricContent(out), baseline);
  // A rerun finds every job done and starts none.
  const again = await runUib(['run', file, '--out', out, '--workers', '2', '--quiet']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /\(10 finished unit\(s\) found .* and reused\)/);
  assert.deepEqual(metricContent(out), baseline);
});

/** The pids of `pid`'s children (Linux /proc). */
function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const stat = fs.readFileSync(`/proc/${n}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

test('--workers 2: a worker process SIGKILLed in a job is replaced and the job retried', {
  skip: !fs.existsSync('/proc/self/stat') && 'needs /proc',
}, async () => {
  const out = path.join(dir, 'w2-kill');
  const child = spawn(process.execPath, [BIN, 'run', file, '--out', out, '--workers', '2'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  // Both scenario jobs done: both workers are now training a model (~0.5 s each).
  await waitFor('the scenario jobs', () => /\[2\/14\]/.test(stderr));
  const workers = childrenOf(child.pid as number);
  assert.equal(workers.length, 2, 'two pool workers');
  process.kill(workers[0], 'SIGKILL');
  assert.equal(await exited, 0, stderr);
  assert.match(stdout, /\(1 job\(s\) tried again after a lost worker/);
  assert.deepEqual(metricContent(out), baseline, 'each cell once, with the same values');
});

test('--workers 2: bad input in a job fails the run at once, exit 2, one line', async () => {
  const bad = { ...TINY, dataset: { ...TINY.dataset, validationSubset: 60_000 } };
  const badFile = path.join(dir, 'bad.json');
  fs.writeFileSync(badFile, JSON.stringify(bad));
  const r = await runUib(['run', badFile, '--out', path.join(dir, 'bad-w2'), '--workers', '2']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^uib: .*dataset\.validationSubset.*$/m);
});

test('Redis down at start: one line naming the URL, exit 2', { skip }, async () => {
  const url = `redis://127.0.0.1:${await freePort()}`;
  const store = path.join(dir, 'down');
  fs.mkdirSync(store);
  const run = await runUib(['run', file, '--queue', url, '--store', store]);
  assert.equal(run.code, 2);
  assert.equal(
    run.stderr,
    `uib: --queue: cannot reach Redis at ${url} (connection refused); start redis-server there or give the right --queue\n`,
  );
  const worker = await runUib(['worker', '--queue', url, '--store', store]);
  assert.equal(worker.code, 2);
  assert.match(worker.stderr, new RegExp(`^uib: --queue: cannot reach Redis at ${url} `));
  assert.deepEqual(fs.readdirSync(store), [], 'nothing written');
});

test('--queue with 2 uib workers: the same metric values; a rerun enqueues nothing', {
  skip,
}, async () => {
  const store = path.join(dir, 'store-q');
  fs.mkdirSync(store);
  const workers = [startWorker(store), startWorker(store)];
  try {
    await waitFor('the workers', () => workers.every((w) => /taking jobs/.test(w.log())));
    const r = await runUib(['run', file, '--queue', redis!.url, '--store', store], {
      env: QUEUE_ENV,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /done 14\/14 · running 0 · failed 0/);
    assert.deepEqual(metricContent(path.join(store, 'tiny')), baseline);
    const started = workers.map((w) => (w.log().match(/: started/g) ?? []).length);
    assert.equal(started[0] + started[1], 14, 'each job ran once');
    assert.ok(
      started.every((n) => n > 0),
      `both workers took jobs (${started})`,
    );
    const again = await runUib(['run', file, '--queue', redis!.url, '--store', store], {
      env: QUEUE_ENV,
    });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /\(10 finished unit\(s\) found .* and reused\)/);
    const after = workers.map((w) => (w.log().match(/: started/g) ?? []).length);
    assert.deepEqual(after, started, 'no job ran again');
  } finally {
    await stopWorkers(workers);
  }
});

test('--queue: a worker SIGKILLed in a job loses nothing; the job is retried and counted once', {
  skip,
}, async () => {
  const store = path.join(dir, 'store-kill');
  fs.mkdirSync(store);
  const victim = startWorker(store);
  const other = startWorker(store);
  try {
    await waitFor('the workers', () => [victim, other].every((w) => /taking jobs/.test(w.log())));
    const coordinator = runUib(['run', file, '--queue', redis!.url, '--store', store], {
      env: QUEUE_ENV,
    });
    // Kill the victim as soon as it starts training a model (a job of ~0.5 s).
    let held = '';
    await waitFor('a training job on the victim', () => {
      const m = /: (seed \d+ · [^:]+: (?:original|retrain \d\/\d)): started\n/.exec(victim.log());
      if (m) held = m[1];
      return m !== null;
    });
    victim.child.kill('SIGKILL');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    assert.ok(!victim.log().includes(`${held}: done`), 'killed while it held the job');
    const r = await coordinator;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\((\d+) job\(s\) tried again after a lost worker/);
    assert.ok(
      other.log().includes(`${held}: started (retried)`),
      `the other worker retried ${held}`,
    );
    const content = metricContent(path.join(store, 'tiny'));
    assert.deepEqual(content, baseline, 'each cell once, with the same values');
  } finally {
    await stopWorkers([victim, other]);
  }
});

test('--queue: a coordinator killed and restarted picks up the finished jobs', {
  skip,
}, async () => {
  const store = path.join(dir, 'store-restart');
  fs.mkdirSync(store);
  const workers = [startWorker(store)];
  try {
    await waitFor('the worker', () => /taking jobs/.test(workers[0].log()));
    const firstCell = path.join(store, 'tiny', 'cells', 'bias-stripe-3', 'seed-1', 'ft.json');
    const killed = await runUib(['run', file, '--queue', redis!.url, '--store', store], {
      env: QUEUE_ENV,
      killWhen: () => fs.existsSync(firstCell),
    });
    assert.equal(killed.signal, 'SIGKILL');
    const before = JSON.parse(fs.readFileSync(firstCell, 'utf8'));
    // A second coordinator on the same run directory while the first would hold it is refused;
    // this one takes over the dead one's lock and finishes.
    const r = await runUib(['run', file, '--queue', redis!.url, '--store', store], {
      env: QUEUE_ENV,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\((\d+) finished unit\(s\) found .* and reused\)/);
    assert.match(r.stderr, /seed 1 · bias-stripe-3: ft already done/);
    const after = JSON.parse(fs.readFileSync(firstCell, 'utf8'));
    assert.equal(after.finishedAt, before.finishedAt, 'the finished cell was not redone');
    assert.deepEqual(metricContent(path.join(store, 'tiny')), baseline);
  } finally {
    await stopWorkers(workers);
  }
});

test('--queue: two coordinators on one run directory: the second is refused, the first is whole', {
  skip,
}, async () => {
  const store = path.join(dir, 'store-two');
  fs.mkdirSync(store);
  const workers = [startWorker(store)];
  try {
    await waitFor('the worker', () => /taking jobs/.test(workers[0].log()));
    const lock = path.join(store, 'tiny', '.lock');
    const first = runUib(['run', file, '--queue', redis!.url, '--store', store], {
      env: QUEUE_ENV,
    });
    await waitFor('the first coordinator', () => fs.existsSync(lock));
    const second = await runUib(['run', file, '--queue', redis!.url, '--store', store], {
      env: QUEUE_ENV,
    });
    assert.equal(second.code, 2);
    assert.match(second.stderr, /is in use by another uib run \(pid \d+\)/);
    const r = await first;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(metricContent(path.join(store, 'tiny')), baseline);
  } finally {
    await stopWorkers(workers);
  }
});

test('--queue: bad input fails the run with its error after one try, exit 2', {
  skip,
}, async () => {
  const store = path.join(dir, 'store-bad');
  fs.mkdirSync(store);
  const bad = { ...TINY, dataset: { ...TINY.dataset, validationSubset: 60_000 } };
  const badFile = path.join(dir, 'bad-q.json');
  fs.writeFileSync(badFile, JSON.stringify(bad));
  const workers = [startWorker(store)];
  try {
    await waitFor('the worker', () => /taking jobs/.test(workers[0].log()));
    const r = await runUib(['run', badFile, '--queue', redis!.url, '--store', store], {
      env: QUEUE_ENV,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^uib: .*dataset\.validationSubset.*$/m);
    // Each scenario job was tried once: an UnrecoverableError is not retried.
    const tries = workers[0].log().match(/: scenario: started/g) ?? [];
    assert.ok(tries.length <= 2, `at most one try per seed (${tries.length})`);
  } finally {
    await stopWorkers(workers);
  }
});
