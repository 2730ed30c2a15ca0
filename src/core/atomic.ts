/**
 * Atomic writes: write to a hidden temp file in the same directory, fsync, then rename over the
 * target. A reader sees the old file or the new one, never half of one; a crash leaves at most a
 * `.name.tmp-*` file, which no reader treats as a result.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(
    dir,
    `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, target);
}

export function writeJsonAtomic(target: string, value: unknown): void {
  writeFileAtomic(target, `${JSON.stringify(value, null, 2)}\n`);
}

/** Whether process `pid` is still running (EPERM: it runs under another user). */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Undo what a killed `writeDirAtomic` left beside `target`. Node has no atomic directory
 * exchange, so the swap is two renames (old aside, new in); a kill between them leaves nothing at
 * `target` and the previous directory at `.name.tmp-<pid>-<hex>.old`: that one is renamed back.
 * Then every temp entry of `target` whose writer is dead (a half-filled temp directory, an old
 * one the swap did not get to remove, temp directories nested inside) is removed. Entries of live
 * writers are left alone. Readers and writers call this before they look at `target`; it returns
 * true when it put a directory back.
 */
export function recoverDir(target: string): boolean {
  const abs = path.resolve(target);
  const parent = path.dirname(abs);
  const base = path.basename(abs);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return false; // no parent: nothing was ever written here
  }
  const esc = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // One leading dot: this target's own temp names; more: temp names nested inside them.
  const mine = new RegExp(`^\\.+${esc}\\.tmp-(\\d+)-[0-9a-f]+(\\..*)?$`);
  const swapped = new RegExp(`^\\.${esc}\\.tmp-\\d+-[0-9a-f]+\\.old$`);
  const dead = names.filter((n) => {
    const m = mine.exec(n);
    return m !== null && !isAlive(Number(m[1]));
  });
  let restored = false;
  if (!fs.existsSync(abs)) {
    const olds = dead
      .filter((n) => swapped.test(n))
      .map((n) => ({ n, t: fs.statSync(path.join(parent, n)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    if (olds.length > 0) {
      fs.renameSync(path.join(parent, olds[0].n), abs);
      restored = true;
    }
  }
  for (const n of dead) fs.rmSync(path.join(parent, n), { recursive: true, force: true });
  return restored;
}

/**
 * Write a whole directory atomically: `fill` writes into a fresh temp directory beside `target`,
 * which then replaces `target` (the old one is moved aside first and removed after the swap).
 * A previous writer killed mid-swap is recovered first (`recoverDir`).
 */
export async function writeDirAtomic(
  target: string,
  fill: (tmpDir: string) => void | Promise<void>,
): Promise<void> {
  const parent = path.dirname(path.resolve(target));
  fs.mkdirSync(parent, { recursive: true });
  recoverDir(target);
  const tmp = tempPathFor(path.resolve(target));
  fs.mkdirSync(tmp);
  try {
    await fill(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  let old: string | null = null;
  if (fs.existsSync(target)) {
    old = `${tmp}.old`;
    fs.renameSync(target, old);
  }
  fs.renameSync(tmp, target);
  if (old) fs.rmSync(old, { recursive: true, force: true });
}
