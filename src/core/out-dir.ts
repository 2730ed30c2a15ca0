/**
 * `--out` belongs to the user. A command may write its output only where nothing of the user's
 * can be lost: a path that does not exist, an empty directory, or an output uib wrote before of
 * the same kind — and the last only with `--force` (a run directory is resumed instead). Anything
 * else (a file, a folder of notes, a checkpoint where an unlearned model should go, the working
 * directory, a folder holding the command's own inputs) is refused with one line before any work
 * starts, and checked again just before the new output is swapped in. The old output is removed
 * only after the new one is complete (core/atomic.ts).
 *
 * `claimOutput` also takes a lock beside the output, so two commands writing one `--out` cannot
 * both report success while one result is lost: the second is refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isTempName } from './atomic.ts';
import { describeErrno, UsageError } from './errors.ts';
import { acquireLock } from './lock.ts';
import { readJsonChecked } from './read.ts';

/**
 * What a command writes: a trained checkpoint, an unlearned one with its record, a run directory,
 * a model of the user's own unlearned (`uib unlearn --model`: tfjs files, record, evidence), or
 * the evidence alone (`uib eval --out`).
 */
export type OutputKind = 'checkpoint' | 'unlearned' | 'run' | 'own-unlearned' | 'evidence';

const NOUN: Record<OutputKind, string> = {
  checkpoint: 'a trained checkpoint',
  unlearned: 'an unlearned checkpoint',
  run: 'a uib run directory',
  'own-unlearned': 'an unlearned model of your own (uib unlearn --model)',
  evidence: 'an evidence directory (uib eval)',
};

/** The record format of `own-unlearned` (unlearn/own-record.ts), matched here by prefix only. */
const OWN_RECORD_PREFIX = 'uib-deletion-record/own-';
const EVIDENCE_PREFIX = 'uib-evidence/';

// The names each kind of output consists of; a directory holding anything else holds user files.
const CHECKPOINT_FILES = ['model.json', 'weights.bin', 'metadata.json'];
const FILES: Record<OutputKind, readonly string[]> = {
  checkpoint: [...CHECKPOINT_FILES, 'fisher.json', 'fisher.bin'],
  unlearned: [...CHECKPOINT_FILES, 'deletion-record.json'],
  'own-unlearned': [
    'model.json',
    'weights.bin',
    'deletion-record.json',
    'evidence.json',
    'report.html',
  ],
  evidence: ['evidence.json', 'report.html'],
  run: [
    'experiment.json',
    'environment.json',
    'results.json',
    'results.md',
    'report.html',
    'cells',
    'cache',
    'tuning',
    'tuning.json',
    '.lock',
  ],
};

export interface OutputOptions {
  kind: OutputKind;
  /** Replace a uib output of the same kind (a run directory is resumed without it). */
  force?: boolean;
  /** The flag that named the output, for messages. */
  flag?: string;
  /** Paths the command reads, by flag: the output may neither hold them nor lie inside them. */
  inputs?: Record<string, string | undefined>;
}

const inside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/** Real path where it exists (the deepest existing ancestor resolved, the rest appended). */
function realish(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...tail.reverse());
    } catch {
      const up = path.dirname(head);
      if (up === head) return abs;
      tail.push(path.basename(head));
      head = up;
    }
  }
}

/** The kind of uib output `dir` holds, or null; `dir` exists and is a directory. */
export function outputKindOf(dir: string): OutputKind | null {
  const has = (f: string) => {
    try {
      return fs.lstatSync(path.join(dir, f)).isFile();
    } catch {
      return false;
    }
  };
  const formatOf = (f: string): string | null => {
    try {
      const v = readJsonChecked(path.join(dir, f), { maxBytes: 16 << 20 });
      const format = (v as { format?: unknown } | null)?.format;
      return typeof format === 'string' ? format : null;
    } catch {
      return null;
    }
  };
  // A run that has only just started holds its lock and nothing else yet.
  if (has('experiment.json') || has('.lock')) return 'run';
  if (!has('metadata.json')) {
    // No checkpoint metadata: a user model's unlearned output, or evidence alone, by their formats.
    if (has('deletion-record.json'))
      return formatOf('deletion-record.json')?.startsWith(OWN_RECORD_PREFIX)
        ? 'own-unlearned'
        : null;
    if (has('evidence.json') && formatOf('evidence.json')?.startsWith(EVIDENCE_PREFIX))
      return 'evidence';
    return null;
  }
  const format = formatOf('metadata.json');
  if (format === null || !format.startsWith('uib-checkpoint/')) return null;
  return has('deletion-record.json') ? 'unlearned' : 'checkpoint';
}

/**
 * Refuse `target` unless writing `opts.kind` there loses nothing of the user's (see the module
 * comment). Returns whether something is there to be replaced (or resumed).
 */
export function checkOutput(target: string, opts: OutputOptions): boolean {
  const flag = opts.flag ?? '--out';
  const abs = path.resolve(target);
  const real = realish(abs);
  const cwd = realish(process.cwd());
  if (path.dirname(real) === real) throw new UsageError(flag, `"${target}" is the root directory`);
  if (inside(cwd, real))
    throw new UsageError(
      flag,
      `"${target}" is the working directory or holds it; give a new directory`,
    );
  for (const [inFlag, input] of Object.entries(opts.inputs ?? {})) {
    if (input === undefined) continue;
    const inReal = realish(input);
    if (inside(inReal, real))
      throw new UsageError(
        flag,
        `"${target}" holds ${inFlag} ${input}; writing there would lose it`,
      );
    if (inside(real, inReal))
      throw new UsageError(flag, `"${target}" is inside ${inFlag} ${input}; write elsewhere`);
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new UsageError(flag, `"${target}": ${describeErrno(e)}`);
  }
  if (st.isSymbolicLink())
    throw new UsageError(flag, `"${target}" is a symbolic link; give the directory itself`);
  if (!st.isDirectory())
    throw new UsageError(
      flag,
      `"${target}" is an existing file, not a directory; uib writes ${NOUN[opts.kind]} there`,
    );
  let names: string[];
  try {
    names = fs.readdirSync(abs).filter((n) => !isTempName(n));
  } catch (e) {
    throw new UsageError(flag, `"${target}": ${describeErrno(e)}`);
  }
  if (names.length === 0) return true;
  const kind = outputKindOf(abs);
  const listed = (ns: string[]) =>
    ns.slice(0, 3).join(', ') + (ns.length > 3 ? ` and ${ns.length - 3} more` : '');
  if (kind === null)
    throw new UsageError(
      flag,
      `"${target}" is not empty and holds no uib output (${listed(names)}); give a new or empty directory`,
    );
  if (kind !== opts.kind)
    throw new UsageError(
      flag,
      `"${target}" holds ${NOUN[kind]}; this command writes ${NOUN[opts.kind]}, so it would be lost`,
    );
  const foreign = names.filter((n) => !FILES[kind].includes(n));
  if (foreign.length > 0)
    throw new UsageError(
      flag,
      `"${target}" holds ${NOUN[kind]} and files uib did not write (${listed(foreign)}); move them or give another directory`,
    );
  if (kind !== 'run' && !opts.force)
    throw new UsageError(
      flag,
      `"${target}" already holds ${NOUN[kind]}; pass --force to replace it, or give another directory`,
    );
  return true;
}

/** The lock file of an output directory: beside it, since the directory itself is swapped. */
export function lockPathFor(target: string): string {
  const abs = path.resolve(target);
  return path.join(path.dirname(abs), `.${path.basename(abs)}.lock`);
}

/**
 * Take the lock on `target` for this process: refused while another live process holds it; a
 * dead process's lock is taken over. Returns the release function.
 */
export function lockOutput(target: string, flag = '--out'): () => void {
  const file = lockPathFor(target);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw new UsageError(flag, `"${target}": cannot create its parent (${describeErrno(e)})`);
  }
  return acquireLock(
    file,
    flag,
    (pid) =>
      new UsageError(
        flag,
        `"${target}" is being written by another uib process (pid ${pid}); wait for it or give another directory`,
      ),
  );
}

/**
 * Check `target` (`checkOutput`) and lock it (`lockOutput`), then check again under the lock
 * (another writer may have finished in between). Returns the release function.
 */
export function claimOutput(target: string, opts: OutputOptions): () => void {
  checkOutput(target, opts);
  const release = lockOutput(target, opts.flag);
  try {
    checkOutput(target, opts);
  } catch (e) {
    release();
    throw e;
  }
  return release;
}

/**
 * The same rule for a command that writes one file (`uib scenario --out s.json`, a PNG): a new
 * path, or a file of the same kind (`isOurs`) with --force; never a directory, a device or
 * another kind of file.
 */
export function checkOutputFile(
  target: string,
  opts: { what: string; force?: boolean; flag?: string; isOurs: (file: string) => boolean },
): void {
  const flag = opts.flag ?? '--out';
  let st: fs.Stats;
  try {
    st = fs.lstatSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new UsageError(flag, `"${target}": ${describeErrno(e)}`);
  }
  if (st.isDirectory())
    throw new UsageError(
      flag,
      `"${target}" is a directory; give the path of ${opts.what} to write`,
    );
  if (!st.isFile())
    throw new UsageError(flag, `"${target}" exists and is not a regular file; give a new path`);
  if (!opts.isOurs(target))
    throw new UsageError(
      flag,
      `"${target}" exists and is not ${opts.what}; uib replaces only its own files (give a new path)`,
    );
  if (!opts.force)
    throw new UsageError(
      flag,
      `"${target}" already holds ${opts.what}; pass --force to replace it (records that name it will no longer verify)`,
    );
}
