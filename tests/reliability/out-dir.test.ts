/**
 * `--out` is the user's: a command writes only to a new or empty directory or over its own kind
 * of uib output (with --force; a run directory resumes), refuses anything else with one line
 * before any work, never deletes a user's file, and refuses a second writer while one runs.
 * The D1/D2/Q5 attacks of issue 13 are the first three CLI tests.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { writeDirAtomic } from '../../src/core/atomic.ts';
import { UsageError } from '../../src/core/errors.ts';
import { sha256 } from '../../src/core/hash.ts';
import { checkOutput, lockOutput, lockPathFor } from '../../src/core/out-dir.ts';
import { tempDir } from '../data/helpers.ts';
import { runUib, uib } from '../helpers/cli.ts';
import { tempLeftovers } from './cli.ts';
import { TINY_EXPERIMENT } from './run-dir.ts';
import { unlearnArgs, unlearnFixture } from './unlearn-fixture.ts';

/** Every file under `dir` with its SHA-256: what must survive a refused command unchanged. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[]) {
    const p = path.join(e.parentPath ?? e.path, e.name);
    if (e.isFile()) out[path.relative(dir, p)] = sha256(fs.readFileSync(p));
  }
  return out;
}

const refused = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match(e.message, pattern);
    return true;
  });

/** One line on stderr, exit 2. */
function oneLineExit2(r: { code: number | null; err?: string; stderr?: string }, pattern: RegExp) {
  const err = r.err ?? r.stderr ?? '';
  assert.equal(r.code, 2, err);
  assert.equal(err.trimEnd().split('\n').length, 1, err);
  assert.match(err, pattern);
  assert.doesNotMatch(err, /E[A-Z]{3,}:|errno/, 'a raw errno message reached the user');
}

test('checkOutput: absent and empty pass; a file, a symlink, user files, another kind are refused', () => {
  const dir = tempDir('outdir');
  assert.equal(checkOutput(path.join(dir, 'new'), { kind: 'checkpoint' }), false);
  fs.mkdirSync(path.join(dir, 'empty'));
  assert.equal(checkOutput(path.join(dir, 'empty'), { kind: 'unlearned' }), true);
  fs.writeFileSync(path.join(dir, 'file'), 'x');
  refused(
    () => checkOutput(path.join(dir, 'file'), { kind: 'checkpoint', force: true }),
    /is an existing file/,
  );
  fs.symlinkSync(path.join(dir, 'empty'), path.join(dir, 'link'));
  refused(() => checkOutput(path.join(dir, 'link'), { kind: 'checkpoint' }), /symbolic link/);
  const notes = path.join(dir, 'notes');
  fs.mkdirSync(notes);
  fs.writeFileSync(path.join(notes, 'todo.txt'), 'mine');
  refused(
    () => checkOutput(notes, { kind: 'checkpoint', force: true }),
    /holds no uib output \(todo\.txt\)/,
  );
  // A uib checkpoint: replaced only with --force, and never when a user's file sits inside it.
  const ck = path.join(dir, 'ck');
  fs.mkdirSync(ck);
  fs.writeFileSync(path.join(ck, 'metadata.json'), JSON.stringify({ format: 'uib-checkpoint/1' }));
  fs.writeFileSync(path.join(ck, 'weights.bin'), '');
  refused(
    () => checkOutput(ck, { kind: 'checkpoint' }),
    /already holds a trained checkpoint; pass --force/,
  );
  assert.equal(checkOutput(ck, { kind: 'checkpoint', force: true }), true);
  refused(
    () => checkOutput(ck, { kind: 'unlearned', force: true }),
    /holds a trained checkpoint; this command writes an unlearned/,
  );
  refused(() => checkOutput(ck, { kind: 'run' }), /holds a trained checkpoint/);
  fs.writeFileSync(path.join(ck, 'README'), 'mine');
  refused(
    () => checkOutput(ck, { kind: 'checkpoint', force: true }),
    /files uib did not write \(README\)/,
  );
  // The output may neither hold an input nor lie inside one.
  refused(
    () => checkOutput(dir, { kind: 'checkpoint', inputs: { '--checkpoint': ck } }),
    /holds --checkpoint/,
  );
  refused(
    () => checkOutput(path.join(ck, 'sub'), { kind: 'checkpoint', inputs: { '--checkpoint': ck } }),
    /is inside --checkpoint/,
  );
  refused(() => checkOutput('/', { kind: 'run' }), /root directory/);
  refused(() => checkOutput(process.cwd(), { kind: 'run' }), /working directory/);
  refused(() => checkOutput(path.dirname(process.cwd()), { kind: 'run' }), /working directory/);
});

test('writeDirAtomic: a refusal just before the swap leaves the target as it was', async () => {
  const dir = tempDir('outdir-swap');
  const target = path.join(dir, 'out');
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(target, 'keep'), 'old');
  await assert.rejects(
    writeDirAtomic(target, (tmp) => fs.writeFileSync(path.join(tmp, 'new'), 'new'), {
      beforeSwap: () => {
        throw new UsageError('--out', 'changed meanwhile');
      },
    }),
    /changed meanwhile/,
  );
  assert.deepEqual(fs.readdirSync(dir), ['out']);
  assert.deepEqual(fs.readdirSync(target), ['keep']);
});

test('lockOutput: a second writer is refused while the first holds the lock; a dead one is taken over', () => {
  const dir = tempDir('outdir-lock');
  const target = path.join(dir, 'out');
  const release = lockOutput(target);
  // Another live process's pid in the lock (this test's parent stands in for it).
  release();
  fs.writeFileSync(lockPathFor(target), String(process.ppid));
  refused(() => lockOutput(target), new RegExp(`another uib process \\(pid ${process.ppid}\\)`));
  // A dead writer's lock (a pid that cannot exist) is taken over.
  fs.writeFileSync(lockPathFor(target), '2147483646');
  lockOutput(target)();
  assert.ok(!fs.existsSync(lockPathFor(target)));
});

test('D1: uib unlearn --out naming the folder that holds the checkpoint and a notes file is refused; nothing is lost', async () => {
  const f = await unlearnFixture('d1');
  const runs = path.join(f.dir, 'runs');
  const ck = path.join(runs, 'ck');
  fs.mkdirSync(runs);
  fs.renameSync(f.checkpoint, ck);
  fs.writeFileSync(path.join(runs, 'notes.txt'), 'my notes\n');
  const before = snapshot(runs);
  const args = unlearnArgs({ ...f, checkpoint: ck }, runs);
  for (const argv of [args, args.filter((a) => a !== '--force')]) {
    oneLineExit2(await uib(...argv), /--out: ".*runs" holds --checkpoint .*would lose it/);
    assert.deepEqual(snapshot(runs), before);
    assert.deepEqual(tempLeftovers(f.dir), []);
  }
});

test('D2: uib train --out a folder of the user’s is refused before training; nothing is lost', async () => {
  const home = tempDir('d2');
  const docs = path.join(home, 'docs');
  fs.mkdirSync(path.join(docs, 'letters'), { recursive: true });
  fs.writeFileSync(path.join(docs, 'cv.txt'), 'mine');
  fs.writeFileSync(path.join(docs, 'letters', 'a.txt'), 'mine too');
  const before = snapshot(docs);
  for (const extra of [[], ['--force']]) {
    const r = await uib(
      'train',
      '--model',
      'mlp',
      '--subset',
      '50',
      '--epochs',
      '1',
      '--backend',
      'cpu',
      '--quiet',
      '--out',
      docs,
      ...extra,
    );
    oneLineExit2(r, /--out: ".*docs" is not empty and holds no uib output \(cv\.txt, letters\)/);
    assert.equal(r.out, '', 'nothing ran');
    assert.deepEqual(snapshot(docs), before);
  }
});

test('Q5: --out naming an existing file is refused (train, unlearn, run); the file is unchanged', async () => {
  const f = await unlearnFixture('q5');
  const file = path.join(f.dir, 'results.txt');
  fs.writeFileSync(file, 'keep me');
  oneLineExit2(await uib(...unlearnArgs(f, file)), /is an existing file, not a directory/);
  oneLineExit2(
    await uib(
      'train',
      '--model',
      'mlp',
      '--subset',
      '50',
      '--backend',
      'cpu',
      '--quiet',
      '--force',
      '--out',
      file,
    ),
    /is an existing file, not a directory/,
  );
  const exp = path.join(f.dir, 'exp.json');
  fs.writeFileSync(exp, JSON.stringify(TINY_EXPERIMENT));
  oneLineExit2(
    await uib('run', exp, '--backend', 'cpu', '--quiet', '--out', file),
    /is an existing file, not a directory/,
  );
  assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
  assert.deepEqual(tempLeftovers(f.dir), []);
});

test('--out . and --out at a user folder through a child: one line, exit 2, no raw errno, no temp files', async () => {
  const f = await unlearnFixture('dot');
  const work = path.join(f.dir, 'work');
  fs.mkdirSync(work);
  // The fixture's paths are absolute: only --out is relative to the child's working directory.
  const r = await runUib(unlearnArgs(f, '.'), { cwd: work });
  oneLineExit2(r, /--out: "\." is the working directory/);
  assert.deepEqual(fs.readdirSync(work), []);
  assert.deepEqual(tempLeftovers(f.dir), []);
  // A parent that is a file: the errno is said in words.
  fs.writeFileSync(path.join(f.dir, 'plain.txt'), 'x');
  const under = path.join(f.dir, 'plain.txt', 'out');
  oneLineExit2(await uib(...unlearnArgs(f, under)), /plain\.txt.*not a directory \(ENOTDIR\)/);
});

test('train: an existing checkpoint is replaced only with --force; unlearn refuses a trained checkpoint as --out', async () => {
  const f = await unlearnFixture('force');
  const ck = path.join(f.dir, 'trained');
  const train = [
    'train',
    '--model',
    'mlp',
    '--subset',
    '40',
    '--test-size',
    '20',
    '--epochs',
    '1',
    '--backend',
    'cpu',
    '--quiet',
    '--out',
    ck,
  ];
  assert.equal((await uib(...train)).code, 0);
  const first = snapshot(ck);
  oneLineExit2(
    await uib(...train, '--seed', '2'),
    /already holds a trained checkpoint; pass --force/,
  );
  assert.deepEqual(snapshot(ck), first);
  const again = await uib(...train, '--seed', '2', '--force');
  assert.equal(again.code, 0, again.err);
  assert.notDeepEqual(snapshot(ck), first);
  // An unlearned checkpoint never goes over a trained one, --force or not.
  oneLineExit2(
    await uib(...unlearnArgs(f, ck)),
    /holds a trained checkpoint; this command writes an unlearned checkpoint/,
  );
  assert.deepEqual(
    fs.readdirSync(f.dir).filter((n) => n.startsWith('.')),
    [],
  );
});

test('two unlearns on one --out: the second is refused while the first runs; the first completes and verifies', async () => {
  const f = await unlearnFixture('concurrent');
  const out = path.join(f.dir, 'out');
  const lock = lockPathFor(out);
  // The first as a child, slowed so that it holds the lock for a while (more epochs).
  const slow = unlearnArgs(f, out).map((a) => (a === 'epochs=1' ? 'epochs=60' : a));
  const first = runUib(slow);
  const t0 = Date.now();
  while (!fs.existsSync(lock) && Date.now() - t0 < 30_000)
    await new Promise((r) => setTimeout(r, 20));
  assert.ok(fs.existsSync(lock), 'the first unlearn never took the lock');
  const second = await uib(...unlearnArgs(f, out));
  oneLineExit2(second, /is being written by another uib process \(pid \d+\)/);
  const r = await first;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!fs.existsSync(lock), 'the lock was not released');
  const v = await uib('verify', out);
  assert.equal(v.code, 0, v.err);
});

test('uib run: a folder of user files is refused; a run directory resumes', async () => {
  const dir = tempDir('outdir-run');
  const exp = path.join(dir, 'exp.json');
  fs.writeFileSync(exp, JSON.stringify({ ...TINY_EXPERIMENT, seeds: [1] }));
  const user = path.join(dir, 'mine');
  fs.mkdirSync(user);
  fs.writeFileSync(path.join(user, 'thesis.tex'), 'x');
  oneLineExit2(
    await uib('run', exp, '--backend', 'cpu', '--quiet', '--out', user),
    /holds no uib output \(thesis\.tex\)/,
  );
  assert.deepEqual(fs.readdirSync(user), ['thesis.tex']);
  // Nor may a run directory hold the experiment file it runs.
  const out = path.join(dir, 'out');
  assert.equal((await uib('run', exp, '--backend', 'cpu', '--quiet', '--out', out)).code, 0);
  const again = await uib('run', exp, '--backend', 'cpu', '--quiet', '--out', out);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /finished unit\(s\) found .* and reused/);
  fs.copyFileSync(exp, path.join(out, 'exp.json'));
  oneLineExit2(
    await uib('run', path.join(out, 'exp.json'), '--backend', 'cpu', '--quiet', '--out', out),
    /holds the experiment file/,
  );
});

test('uib scenario --out: a new path, or a manifest with --force; never a user file; --png only over a PNG', async () => {
  const dir = tempDir('outdir-scenario');
  const args = (out: string) => [
    'scenario',
    '--dataset',
    'mnist',
    '--kind',
    'random',
    '--forget-fraction',
    '0.2',
    '--train-size',
    '60',
    '--test-size',
    '20',
    '--out',
    out,
  ];
  const notes = path.join(dir, 'notes.json');
  fs.writeFileSync(notes, '{"mine": true}');
  oneLineExit2(await uib(...args(notes), '--force'), /exists and is not a scenario manifest/);
  assert.equal(fs.readFileSync(notes, 'utf8'), '{"mine": true}');
  oneLineExit2(await uib(...args(dir)), /is a directory/);
  const s = path.join(dir, 's.json');
  assert.equal((await uib(...args(s))).code, 0);
  const first = fs.readFileSync(s, 'utf8');
  oneLineExit2(
    await uib(...args(s), '--seed', '2'),
    /already holds a scenario manifest; pass --force/,
  );
  assert.equal(fs.readFileSync(s, 'utf8'), first);
  assert.equal((await uib(...args(s), '--seed', '2', '--force')).code, 0);
  assert.notEqual(fs.readFileSync(s, 'utf8'), first);
  // --png: a PNG uib drew is redrawn, a user's file is not touched.
  const png = path.join(dir, 'grid.png');
  assert.equal((await uib('scenario', 'show', s, '--png', png)).code, 0);
  assert.equal((await uib('scenario', 'show', s, '--png', png)).code, 0);
  oneLineExit2(await uib('scenario', 'show', s, '--png', notes), /--png: .* is not a PNG image/);
  assert.equal(fs.readFileSync(notes, 'utf8'), '{"mine": true}');
});
