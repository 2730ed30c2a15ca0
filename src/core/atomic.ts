/**
 * Atomic writes: write to a hidden temp file in the same directory, fsync, then rename over the
 * target. A reader sees the old file or the new one, never half of one; a crash leaves at most a
 * `.name.tmp-*` file, which no reader treats as a result.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive } from './process.ts';

/** Whether a file name is one of these temp files (`.name.tmp-<pid>-<hex>`, `….old`): never a result. */
export function isTempName(name: string): boolean {
  return /^\..+\.tmp-\d+-[0-9a-f]+(\..*)?$/.test(name);
}

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
 * which then replaces `target` (the old one is moved aside first and removed only after the new
 * one is in place). A previous writer killed mid-swap is recovered first (`recoverDir`).
 * `beforeSwap` runs once the new directory is complete and before anything at `target` is
 * touched: commands check there, again, that what they replace is theirs to replace
 * (core/out-dir.ts); if it throws, the new directory is removed and `target` is left as it was.
 */
export async function writeDirAtomic(
  target: string,
  fill: (tmpDir: string) => void | Promise<void>,
  opts: { beforeSwap?: () => void } = {},
): Promise<void> {
  const abs = path.resolve(target);
  const parent = path.dirname(abs);
  fs.mkdirSync(parent, { recursive: true });
  recoverDir(abs);
  const tmp = tempPathFor(abs);
  fs.mkdirSync(tmp);
  try {
    await fill(tmp);
    opts.beforeSwap?.();
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  let old: string | null = null;
  if (fs.existsSync(abs)) {
    old = `${tmp}.old`;
    try {
      fs.renameSync(abs, old);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  try {
    fs.renameSync(tmp, abs);
  } catch (e) {
    // Put the old directory back before reporting: the target is never left missing.
    if (old) fs.renameSync(old, abs);
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (old) fs.rmSync(old, { recursive: true, force: true });
}
