/**
 * Lock files: a file holding the pid of the process that owns something (a run directory, an
 * output being written). Taking one is atomic with its content: the pid is written to a temp file
 * first and hard-linked into place, so no reader ever sees an empty lock. A lock whose process is
 * dead (a killed run) is taken over, by renaming it to a name of our own first: of two processes
 * racing to take over one stale lock only one can rename it, and a fresh lock that appeared in
 * between is put back rather than removed.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeErrno, UsageError } from './errors.ts';
import { isAlive } from './process.ts';
import { exists, isRegularFile, readTextChecked } from './read.ts';

/** The pid in a lock file, or null if it is unreadable, not a regular file or not a pid. */
function holderOf(file: string): number | null {
  try {
    const pid = Number(readTextChecked(file, { maxBytes: 64, what: 'a uib lock file' }).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Take the lock `file` for this process, or throw `busy(pid)` while a live process holds it.
 * Returns the release function (idempotent).
 */
export function acquireLock(
  file: string,
  where: string,
  busy: (pid: number) => UsageError,
): () => void {
  const dir = path.dirname(file);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${tag}`);
  try {
    fs.writeFileSync(tmp, String(process.pid), { flag: 'wx' });
  } catch (e) {
    throw new UsageError(where, `cannot create the lock ${file} (${describeErrno(e)})`);
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(tmp, file);
        let released = false;
        return () => {
          if (released) return;
          released = true;
          // Only our own lock: a takeover after a hang must not be undone by a late release.
          if (holderOf(file) === process.pid) fs.rmSync(file, { force: true });
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
          throw new UsageError(where, `cannot take the lock ${file} (${describeErrno(e)})`);
      }
      // A FIFO, device or directory in the lock's place is not ours to remove: say so.
      if (exists(file) && !isRegularFile(file))
        readTextChecked(file, { maxBytes: 64, what: 'a uib lock file' });
      const pid = holderOf(file);
      if (pid !== null && pid !== process.pid && isAlive(pid)) throw busy(pid);
      // Stale (dead holder, or not a lock at all): take it aside under our own name.
      const aside = `${file}.stale-${tag}`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue; // someone else took it aside first
      }
      const moved = holderOf(aside);
      if (moved !== null && moved !== process.pid && isAlive(moved)) {
        // A fresh lock appeared between our read and the rename: give it back, then refuse.
        try {
          fs.linkSync(aside, file);
        } catch {
          // a third process holds it now
        }
        fs.rmSync(aside, { force: true });
        throw busy(moved);
      }
      fs.rmSync(aside, { recursive: true, force: true });
    }
    throw new UsageError(where, `could not take the lock ${file}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
